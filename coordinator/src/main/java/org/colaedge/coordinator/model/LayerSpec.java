package org.colaedge.coordinator.model;

import org.colaedge.common.adapter.ConvGeometry;

/** One operation of a base model, in order. Weighted layers (dense, conv2d) are adapter slots. */
public sealed interface LayerSpec {

    /** Weighted layers are named; parameter-free ops return null. */
    default String name() {
        return null;
    }

    /** Dense layer h = x W + b with W: [in, out]. */
    record Dense(String name, long in, long out) implements LayerSpec { }

    /** Conv2d over NCHW with kernel K: [out, in, kH, kW] and bias [out]. */
    record Conv2d(String name, long inChannels, long outChannels, ConvGeometry geometry) implements LayerSpec { }

    /** ReLU. */
    record Relu() implements LayerSpec { }

    /** Max pooling with a square kernel and stride (floor mode: a trailing row/column is dropped). */
    record MaxPool(int kernel, int stride) implements LayerSpec { }

    /** Mean over the spatial dimensions: [N, C, H, W] -> [N, C]. */
    record GlobalAvgPool() implements LayerSpec { }

    /** [N, C, H, W] -> [N, C*H*W] (row-major). */
    record Flatten() implements LayerSpec { }
}
