package org.colaedge.common.learning;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What the coordinator computes for one adapted layer m of one batch: the layer input x_m and the
 * hidden gradient delta_m = dL/dh_m.
 */
public record HiddenGradient(INDArray input, INDArray gradient) {
}
