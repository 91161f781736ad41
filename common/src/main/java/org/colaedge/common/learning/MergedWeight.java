package org.colaedge.common.learning;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A base weight with an adapter merged into it, for merged-mode inference and training. The
 * frozen base is kept, so every new adapter version is merged as base + scaling * dW afresh (no
 * drift from repeated in-place merges) and {@link #unmerge()} restores the base bit-exactly.
 */
public final class MergedWeight {

    private final INDArray base;
    private final double scaling;
    private INDArray delta;
    private INDArray merged;

    public MergedWeight(INDArray base, double scaling) {
        this.base = base.dup();
        this.scaling = scaling;
        this.merged = this.base.dup();
    }

    /** Merges a new adapter version; replaces the previous delta. */
    public INDArray apply(INDArray newDelta) {
        this.delta = newDelta.dup();
        this.merged = Merging.merge(base, delta, scaling);
        return merged;
    }

    /** The weight to compute with: W + scaling * dW, or W before any delta. */
    public INDArray merged() {
        return merged;
    }

    /** The current delta, or null before any. */
    public INDArray delta() {
        return delta;
    }

    /** Drops the delta; returns the base, bit-exact. */
    public INDArray unmerge() {
        this.delta = null;
        this.merged = base.dup();
        return merged;
    }

    public INDArray base() {
        return base;
    }
}
