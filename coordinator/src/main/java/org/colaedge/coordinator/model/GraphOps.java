package org.colaedge.coordinator.model;

import java.util.Map;
import org.colaedge.common.adapter.AdapterKind;
import org.colaedge.common.adapter.AdapterSpec;
import org.colaedge.common.adapter.ConvGeometry;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Pooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Pooling2DDerivative;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.DeConv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;

/**
 * SameDiff building blocks: the base layers, their input gradients (never weight gradients), and
 * adapters' forward g(x) and input gradient J_x^T delta. Conv weights are in SameDiff's
 * [kH, kW, in, out] layout; dense weights [in, out]. Adapter parameters are in
 * {@link org.colaedge.common.adapter.GraphLayout} graph layout.
 */
final class GraphOps {

    private GraphOps() {
    }

    static SDVariable dense(SDVariable x, SDVariable w, SDVariable b) {
        return b == null ? x.mmul(w) : x.mmul(w).add(b);
    }

    /** dL/dx of x W: delta W^T (a single matmul; no dW is formed). */
    static SDVariable denseInputGrad(SameDiff sd, SDVariable delta, SDVariable w) {
        return sd.mmul(delta, w, false, true, false);
    }

    static SDVariable conv(SameDiff sd, SDVariable x, SDVariable k, SDVariable b, ConvGeometry g) {
        SDVariable y = sd.cnn().conv2d(x, k, convConfig(g));
        return b == null ? y : y.add(b.reshape(1, -1, 1, 1));
    }

    /** dL/dx of conv(x, K): the transposed convolution of delta with the same kernel. */
    static SDVariable convInputGrad(SameDiff sd, SDVariable delta, SDVariable k, ConvGeometry g) {
        return sd.cnn().deconv2d(delta, k, DeConv2DConfig.builder()
                .kH(g.kernelH()).kW(g.kernelW()).sH(g.strideH()).sW(g.strideW()).pH(g.padH()).pW(g.padW())
                .isSameMode(false).dataFormat("NCHW").build());
    }

    static Conv2DConfig convConfig(ConvGeometry g) {
        return Conv2DConfig.builder().kH(g.kernelH()).kW(g.kernelW()).sH(g.strideH()).sW(g.strideW())
                .pH(g.padH()).pW(g.padW()).paddingMode(PaddingMode.VALID).dataFormat("NCHW").build();
    }

    static Pooling2DConfig maxPoolConfig(LayerSpec.MaxPool p) {
        return Pooling2DConfig.builder().kH(p.kernel()).kW(p.kernel()).sH(p.stride()).sW(p.stride())
                .type(Pooling2D.Pooling2DType.MAX).paddingMode(PaddingMode.VALID).isNHWC(false).build();
    }

    static SDVariable maxPool(SameDiff sd, SDVariable x, LayerSpec.MaxPool p) {
        return sd.cnn().maxPooling2d(x, maxPoolConfig(p));
    }

    /** dL/dx of max pooling: the gradient routed to each window's arg-max (libnd4j's maxpool2d_bp). */
    static SDVariable maxPoolInputGrad(SameDiff sd, SDVariable x, SDVariable delta, LayerSpec.MaxPool p) {
        return new Pooling2DDerivative(sd, new SDVariable[] {x, delta}, maxPoolConfig(p)).outputVariable();
    }

    /** The forward op of a parameter-free layer; {@code outShape} is its per-sample output shape. */
    static SDVariable parameterFree(SameDiff sd, LayerSpec l, SDVariable x, long[] outShape) {
        if (l instanceof LayerSpec.Relu) {
            return sd.nn().relu(x, 0);
        }
        if (l instanceof LayerSpec.MaxPool p) {
            return maxPool(sd, x, p);
        }
        if (l instanceof LayerSpec.GlobalAvgPool) {
            return globalAvgPool(x);
        }
        if (l instanceof LayerSpec.Flatten) {
            return x.reshape(-1, outShape[0]);
        }
        throw new IllegalArgumentException("layer " + l + " has parameters");
    }

    static SDVariable reluInputGrad(SameDiff sd, SDVariable preActivation, SDVariable delta) {
        return delta.mul(sd.castTo(preActivation.gt(0.0), DataType.FLOAT));
    }

    static SDVariable globalAvgPool(SDVariable x) {
        return x.mean(2, 3);
    }

    static SDVariable globalAvgPoolInputGrad(SameDiff sd, SDVariable x, SDVariable delta, long channels, long h, long w) {
        return sd.zerosLike(x).add(delta.reshape(-1, channels, 1, 1).div(h * w));
    }

    /**
     * Per-sample softmax cross-entropy [N] as logsumexp(z - max z) - sum(y * (z - max z)): finite
     * for any finite logits. (sum(y * logSoftmax(z)) turns into 0 * -inf = NaN once a class probability
     * underflows, which well-trained models reach.)
     */
    static SDVariable crossEntropy(SameDiff sd, SDVariable logits, SDVariable oneHot) {
        SDVariable max = logits.max(1).reshape(-1, 1);
        SDVariable shifted = logits.sub(max);                                   // <= 0, max entry 0
        SDVariable logSumExp = sd.math().log(sd.math().exp(shifted).sum(1));    // in [0, log C]
        return logSumExp.sub(oneHot.mul(shifted).sum(1));
    }

    // ---- adapters -----------------------------------------------------------------------------

    /** g(x) for an adapter whose parameters (graph layout) are the given variables. */
    static SDVariable adapterForward(SameDiff sd, SDVariable x, AdapterSpec spec, Map<String, SDVariable> p) {
        SDVariable y = switch (spec.kind()) {
            case LINEAR -> dense(x, p.get("W"), p.get("b"));
            case LOW_RANK -> x.mmul(p.get("A")).mmul(p.get("B"));
            case MLP -> {
                SDVariable a = x;
                int layers = spec.hidden().size() + 1;
                for (int i = 0; i < layers; i++) {
                    a = dense(a, p.get("W" + i), p.get("b" + i));
                    if (i < layers - 1) {
                        a = sd.nn().relu(a, 0);
                    }
                }
                yield a;
            }
            case CONV_LOW_RANK -> conv(sd, conv(sd, x, p.get("A"), null, spec.conv()), p.get("B"), null, ConvGeometry.square(1, 1, 0));
        };
        return spec.scaling() == 1f ? y : y.mul(spec.scaling());
    }

    /** J_x^T delta: the adapter's contribution to dL/dx (no parameter gradient is formed). */
    static SDVariable adapterInputGrad(SameDiff sd, SDVariable x, SDVariable delta, AdapterSpec spec, Map<String, SDVariable> p) {
        SDVariable d = spec.scaling() == 1f ? delta : delta.mul(spec.scaling());
        return switch (spec.kind()) {
            case LINEAR -> denseInputGrad(sd, d, p.get("W"));
            case LOW_RANK -> denseInputGrad(sd, denseInputGrad(sd, d, p.get("B")), p.get("A"));
            case MLP -> {
                int layers = spec.hidden().size() + 1;
                SDVariable[] pre = new SDVariable[layers];
                SDVariable a = x;
                for (int i = 0; i < layers - 1; i++) {
                    pre[i] = dense(a, p.get("W" + i), p.get("b" + i));
                    a = sd.nn().relu(pre[i], 0);
                }
                SDVariable g = d;
                for (int i = layers - 1; i >= 0; i--) {
                    g = denseInputGrad(sd, g, p.get("W" + i));
                    if (i > 0) {
                        g = reluInputGrad(sd, pre[i - 1], g);
                    }
                }
                yield g;
            }
            case CONV_LOW_RANK -> convInputGrad(sd, convInputGrad(sd, d, p.get("B"), ConvGeometry.square(1, 1, 0)), p.get("A"), spec.conv());
        };
    }

    static boolean isConv(AdapterKind kind) {
        return kind == AdapterKind.CONV_LOW_RANK;
    }
}
