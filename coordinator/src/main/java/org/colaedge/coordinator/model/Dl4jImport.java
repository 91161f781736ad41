package org.colaedge.coordinator.model;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.colaedge.common.adapter.ConvGeometry;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossNegativeLogLikelihood;

/**
 * Imports a DL4J {@code MultiLayerNetwork} saved with {@code ModelSerializer} as a frozen base
 * model. Supported: DenseLayer and ConvolutionLayer (ReLU or identity activation; conv NCHW,
 * no dilation, Truncate/Strict mode or Same mode with odd kernels at stride 1), SubsamplingLayer
 * (max, kernel = stride, no padding), GlobalPoolingLayer (average over H, W), DropoutLayer
 * (identity at inference), and a softmax OutputLayer with cross-entropy / NLL loss, which becomes
 * the logits layer. Anything else is rejected with an error naming the layer.
 */
public final class Dl4jImport {

    private Dl4jImport() {
    }

    public static BaseModel load(Path file) throws IOException {
        MultiLayerNetwork net;
        try {
            net = ModelSerializer.restoreMultiLayerNetwork(file.toFile(), false);
        } catch (RuntimeException e) {
            throw new IOException(file + " could not be read as a DL4J MultiLayerNetwork: " + e.getMessage(), e);
        }
        return convert(net, file.getFileName().toString().replaceAll("\\.zip$", ""));
    }

    public static BaseModel convert(MultiLayerNetwork net, String name) {
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations();
        int n = conf.getConfs().size();
        List<LayerSpec> layers = new ArrayList<>();
        Map<String, INDArray> weights = new LinkedHashMap<>();
        Map<String, INDArray> biases = new LinkedHashMap<>();
        long[] inputShape = null;
        for (int i = 0; i < n; i++) {
            Layer l = conf.getConf(i).getLayer();
            String layerName = "layer" + i;
            String what = "layer " + i + " (" + l.getClass().getSimpleName() + (l.getLayerName() == null ? "" : " '" + l.getLayerName() + "'") + ")";
            InputPreProcessor pre = conf.getInputPreProcess(i);
            if (pre instanceof FeedForwardToCnnPreProcessor ff) {
                if (i != 0) {
                    throw new IllegalArgumentException(what + ": a feed-forward-to-CNN preprocessor inside the network is not supported");
                }
                inputShape = new long[] {ff.getNumChannels(), ff.getInputHeight(), ff.getInputWidth()};
            } else if (pre instanceof CnnToFeedForwardPreProcessor) {
                layers.add(new LayerSpec.Flatten());
            } else if (pre != null) {
                throw new IllegalArgumentException(what + ": input preprocessor " + pre.getClass().getSimpleName() + " is not supported");
            }
            if (l instanceof OutputLayer o) {
                if (i != n - 1 || !(o.getActivationFn() instanceof ActivationSoftmax)
                        || !(o.getLossFn() instanceof LossMCXENT || o.getLossFn() instanceof LossNegativeLogLikelihood)) {
                    throw new IllegalArgumentException(what + ": only a last softmax output layer with cross-entropy loss is supported");
                }
                addDense(net, i, layerName, o.getNIn(), o.getNOut(), layers, weights, biases, what, inputShape == null);
                if (inputShape == null) {
                    inputShape = new long[] {o.getNIn()};
                }
            } else if (l instanceof DenseLayer d) {
                if (inputShape == null) {
                    inputShape = new long[] {d.getNIn()};
                }
                addDense(net, i, layerName, d.getNIn(), d.getNOut(), layers, weights, biases, what, false);
                activation(d, layers, what);
            } else if (l instanceof ConvolutionLayer c && l.getClass() == ConvolutionLayer.class) {
                if (c.getCnn2dDataFormat() != CNN2DFormat.NCHW) {
                    throw new IllegalArgumentException(what + ": only NCHW convolutions are supported");
                }
                if (c.getDilation()[0] != 1 || c.getDilation()[1] != 1) {
                    throw new IllegalArgumentException(what + ": dilated convolutions are not supported");
                }
                int[] k = c.getKernelSize();
                int[] s = c.getStride();
                int[] p = c.getPadding();
                if (c.getConvolutionMode() == ConvolutionMode.Same) {
                    if (s[0] != 1 || s[1] != 1 || k[0] % 2 == 0 || k[1] % 2 == 0) {
                        throw new IllegalArgumentException(what + ": Same mode is supported for odd kernels at stride 1 only");
                    }
                    p = new int[] {k[0] / 2, k[1] / 2};
                } else if (c.getConvolutionMode() == ConvolutionMode.Causal) {
                    throw new IllegalArgumentException(what + ": causal convolutions are not supported");
                }
                if (inputShape == null) {
                    throw new IllegalArgumentException(what + ": the network does not state its input size; build it with "
                            + "setInputType(InputType.convolutionalFlat(h, w, c)) so that it can be imported");
                }
                layers.add(new LayerSpec.Conv2d(layerName, c.getNIn(), c.getNOut(), new ConvGeometry(k[0], k[1], s[0], s[1], p[0], p[1])));
                weights.put(layerName, net.getLayer(i).getParam("W").dup('c'));
                biases.put(layerName, net.getLayer(i).getParam("b").dup('c').reshape(c.getNOut()));
                activation(c, layers, what);
            } else if (l instanceof SubsamplingLayer sl && l.getClass() == SubsamplingLayer.class) {
                int[] k = sl.getKernelSize();
                int[] s = sl.getStride();
                if (sl.getPoolingType() != PoolingType.MAX || k[0] != k[1] || s[0] != s[1] || sl.getPadding()[0] != 0 || sl.getPadding()[1] != 0
                        || sl.getConvolutionMode() == ConvolutionMode.Same) {
                    throw new IllegalArgumentException(what + ": only square max pooling without padding is supported");
                }
                layers.add(new LayerSpec.MaxPool(k[0], s[0]));
            } else if (l instanceof GlobalPoolingLayer g) {
                if (g.getPoolingType() != PoolingType.AVG) {
                    throw new IllegalArgumentException(what + ": only average global pooling is supported");
                }
                layers.add(new LayerSpec.GlobalAvgPool());
            } else if (l instanceof DropoutLayer) {
                continue; // identity at inference: the base is frozen
            } else {
                throw new IllegalArgumentException(what + " is not supported; supported layers: DenseLayer, ConvolutionLayer, "
                        + "SubsamplingLayer (max), GlobalPoolingLayer (avg), DropoutLayer, OutputLayer (softmax)");
            }
        }
        if (inputShape == null) {
            throw new IllegalArgumentException("the network has no layers to import");
        }
        return new BaseModel(name, inputShape, layers, weights, biases);
    }

    private static void addDense(MultiLayerNetwork net, int i, String name, long in, long out, List<LayerSpec> layers,
                                 Map<String, INDArray> weights, Map<String, INDArray> biases, String what, boolean first) {
        layers.add(new LayerSpec.Dense(name, in, out));
        weights.put(name, net.getLayer(i).getParam("W").dup('c'));
        INDArray b = net.getLayer(i).getParam("b");
        if (b == null) {
            throw new IllegalArgumentException(what + ": layers without bias are not supported");
        }
        biases.put(name, b.dup('c').reshape(out));
    }

    private static void activation(BaseLayer l, List<LayerSpec> layers, String what) {
        IActivation a = l.getActivationFn();
        if (a instanceof ActivationReLU) {
            layers.add(new LayerSpec.Relu());
        } else if (!(a instanceof ActivationIdentity)) {
            throw new IllegalArgumentException(what + ": activation " + a + " is not supported (ReLU or identity)");
        }
    }
}
