package org.colaedge.common;

import org.nd4j.linalg.api.ndarray.INDArray;

/** Small checks on arrays shared by the wire boundary and the learners. */
public final class NdArrays {

    private NdArrays() {
    }

    /** True if no element is NaN or infinite (an empty array is finite). */
    public static boolean allFinite(INDArray a) {
        return a.length() == 0 || !(a.isNaN().any() || a.isInfinite().any());
    }
}
