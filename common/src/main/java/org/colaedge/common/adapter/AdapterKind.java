package org.colaedge.common.adapter;

/** The adapter families of ColA. Mirrors {@code colaedge.v1.AdapterKind} on the wire. */
public enum AdapterKind {
    /** g(x) = alpha * (x A) B; merged as W + alpha * A B. */
    LOW_RANK(true),
    /** g(x) = x W + b; merged as W + W_adapter (the bias, if any, into the base bias). */
    LINEAR(true),
    /** A ReLU MLP; the most expressive, not mergeable. */
    MLP(false),
    /** k x k conv to rank channels, then 1x1 conv; merged into the base conv kernel. */
    CONV_LOW_RANK(true);

    private final boolean mergeable;

    AdapterKind(boolean mergeable) {
        this.mergeable = mergeable;
    }

    public boolean mergeable() {
        return mergeable;
    }
}
