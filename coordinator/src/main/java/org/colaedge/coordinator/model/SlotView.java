package org.colaedge.coordinator.model;

import org.colaedge.common.adapter.Adapter;
import org.nd4j.linalg.api.ndarray.INDArray;

/** What the coordinator computes with at one adapter slot for one user. */
public sealed interface SlotView {

    /** Base layer plus the adapter's output g(x); the adapter's current parameters are read at each call. */
    record Unmerged(Adapter adapter) implements SlotView { }

    /**
     * The adapter merged into the layer: weight W + alpha dW ([in, out] dense, [out, in, kH, kW]
     * conv) and bias (b, or b + alpha db).
     */
    record Merged(INDArray weight, INDArray bias) implements SlotView { }
}
