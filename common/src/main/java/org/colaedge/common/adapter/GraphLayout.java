package org.colaedge.common.adapter;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Converts adapter parameters and conv kernels between the layouts of this code base (dense
 * [in, out]; conv kernels [out, in, kH, kW] as in DL4J and PyTorch) and SameDiff's conv2d weight
 * layout [kH, kW, in, out]. Dense parameters are the same in both.
 */
public final class GraphLayout {

    private GraphLayout() {
    }

    /** A conv kernel [out, in, kH, kW] as SameDiff conv2d / deconv2d weights [kH, kW, in, out]. */
    public static INDArray kernelToGraph(INDArray oihw) {
        return oihw.permute(2, 3, 1, 0).dup('c');
    }

    /** SameDiff [kH, kW, in, out] back to [out, in, kH, kW]. */
    public static INDArray kernelFromGraph(INDArray yxio) {
        return yxio.permute(3, 2, 0, 1).dup('c');
    }

    /** One adapter parameter in graph layout (a copy). */
    public static INDArray toGraph(Adapter a, String param, INDArray value) {
        if (a.kind() != AdapterKind.CONV_LOW_RANK) {
            return value.dup();
        }
        if (param.equals("A")) {
            return kernelToGraph(value);                              // [r, in, kH, kW] -> [kH, kW, in, r]
        }
        return value.transpose().reshape('c', 1, 1, value.size(1), value.size(0)).dup('c'); // [out, r] -> [1, 1, r, out]
    }

    /** One adapter parameter (or its gradient) from graph layout back to the adapter's layout. */
    public static INDArray fromGraph(Adapter a, String param, INDArray value) {
        if (a.kind() != AdapterKind.CONV_LOW_RANK) {
            return value.dup();
        }
        if (param.equals("A")) {
            return kernelFromGraph(value);
        }
        return value.reshape('c', value.size(2), value.size(3)).transpose().dup('c'); // [1, 1, r, out] -> [out, r]
    }
}
