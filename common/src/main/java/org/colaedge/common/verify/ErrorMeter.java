package org.colaedge.common.verify;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Accumulates max |actual - expected| and max |expected| over many array pairs; the relative
 * error is their ratio. Computed in double precision.
 */
final class ErrorMeter {

    private double maxAbs;
    private double maxRef;
    private long compared;

    void add(INDArray actual, INDArray expected) {
        if (!Arrays.equals(actual.shape(), expected.shape())) {
            throw new IllegalStateException("compared arrays differ in shape: " + Arrays.toString(actual.shape())
                    + " vs " + Arrays.toString(expected.shape()));
        }
        if (actual.length() == 0) {
            return;
        }
        INDArray a = actual.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE);
        INDArray e = expected.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE);
        double diff = a.sub(e).amaxNumber().doubleValue();
        maxAbs = Double.isNaN(diff) ? Double.NaN : Math.max(maxAbs, diff);
        maxRef = Math.max(maxRef, e.amaxNumber().doubleValue());
        compared += actual.length();
    }

    double maxAbs() {
        return maxAbs;
    }

    double maxRel() {
        if (Double.isNaN(maxAbs)) {
            return Double.NaN;
        }
        return maxRef == 0 ? (maxAbs == 0 ? 0 : Double.POSITIVE_INFINITY) : maxAbs / maxRef;
    }

    double maxReference() {
        return maxRef;
    }

    long compared() {
        return compared;
    }
}
