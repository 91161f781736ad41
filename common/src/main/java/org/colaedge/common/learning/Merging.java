package org.colaedge.common.learning;

import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Merging adapters into base weights, and collaboration. Pure functions on arrays; none modifies
 * its arguments.
 */
public final class Merging {

    private Merging() {
    }

    /** W' = W + scaling * dW. */
    public static INDArray merge(INDArray w, INDArray dW, double scaling) {
        requireSameShape(w, dW);
        return w.add(dW.mul(scaling));
    }

    /**
     * The arithmetic inverse W = W' - scaling * dW (exact up to one float rounding per element).
     * Where bit-exact restoration matters, keep the base (see {@link MergedWeight}).
     */
    public static INDArray unmerge(INDArray merged, INDArray dW, double scaling) {
        requireSameShape(merged, dW);
        return merged.sub(dW.mul(scaling));
    }

    /** Collaboration: the plain mean of K users' dW. */
    public static INDArray mean(List<INDArray> deltas) {
        double[] ones = new double[deltas.size()];
        Arrays.fill(ones, 1.0);
        return weightedMean(deltas, ones);
    }

    /** Collaboration: sum_k w_k dW_k / sum_k w_k, e.g. weighted by users' sample counts. */
    public static INDArray weightedMean(List<INDArray> deltas, double[] weights) {
        if (deltas.isEmpty()) {
            throw new IllegalArgumentException("collaboration needs at least one user's delta");
        }
        if (weights.length != deltas.size()) {
            throw new IllegalArgumentException(deltas.size() + " deltas but " + weights.length + " weights");
        }
        double total = 0;
        for (double w : weights) {
            if (!(w >= 0) || !Double.isFinite(w)) {
                throw new IllegalArgumentException("collaboration weights must be finite and non-negative, got " + Arrays.toString(weights));
            }
            total += w;
        }
        if (total == 0) {
            throw new IllegalArgumentException("collaboration weights sum to zero");
        }
        INDArray acc = deltas.get(0).mul(weights[0] / total);
        for (int k = 1; k < deltas.size(); k++) {
            requireSameShape(acc, deltas.get(k));
            acc.addi(deltas.get(k).mul(weights[k] / total));
        }
        return acc;
    }

    private static void requireSameShape(INDArray a, INDArray b) {
        if (!Arrays.equals(a.shape(), b.shape())) {
            throw new IllegalArgumentException("shape mismatch: " + Arrays.toString(a.shape()) + " vs " + Arrays.toString(b.shape()));
        }
    }
}
