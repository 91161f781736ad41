package org.colaedge.common;

import java.util.SplittableRandom;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.longer.MatchCondition;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.conditions.Conditions;

/** Small checks on arrays shared by the wire boundary and the learners. */
public final class NdArrays {

    private NdArrays() {
    }

    /** True if no element is NaN or infinite (an empty array is finite). */
    public static boolean allFinite(INDArray a) {
        if (a.length() == 0) {
            return true;
        }
        // One counting reduction, instead of two boolean arrays and two any() reductions.
        return Nd4j.getExecutioner().exec(new MatchCondition(a, Conditions.notFinite())).getLong(0) == 0;
    }

    /**
     * A float32 array of U(-bound, bound) values drawn in row-major order from {@code rng}:
     * platform independent, unlike ND4J's native random generator.
     */
    public static INDArray uniform(SplittableRandom rng, double bound, long... shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        float[] v = new float[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        }
        return Nd4j.create(v, shape, 'c');
    }
}
