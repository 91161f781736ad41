package org.colaedge.coordinator.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.colaedge.common.NdArrays;
import org.colaedge.common.adapter.ConvGeometry;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A frozen base model: an ordered list of {@link LayerSpec}s and the weights of its weighted
 * layers (dense W: [in, out]; conv K: [out, in, kH, kW]; bias [out]). The last layer must be dense
 * and produce the logits. Immutable after construction; the arrays are never written.
 */
public final class BaseModel {

    private final String name;
    private final long[] inputShape;
    private final List<LayerSpec> layers;
    private final Map<String, INDArray> weights;
    private final Map<String, INDArray> biases;
    private final Map<String, LayerSpec> weighted;

    public BaseModel(String name, long[] inputShape, List<LayerSpec> layers, Map<String, INDArray> weights, Map<String, INDArray> biases) {
        this.name = name;
        this.inputShape = inputShape.clone();
        this.layers = List.copyOf(layers);
        LinkedHashMap<String, LayerSpec> w = new LinkedHashMap<>();
        for (LayerSpec l : layers) {
            if (l.name() != null && w.put(l.name(), l) != null) {
                throw new IllegalArgumentException("model " + name + ": two layers named " + l.name());
            }
        }
        this.weighted = Collections.unmodifiableMap(w);
        if (!(layers.get(layers.size() - 1) instanceof LayerSpec.Dense)) {
            throw new IllegalArgumentException("model " + name + ": the last layer must be dense (the logits)");
        }
        for (LayerSpec l : w.values()) {
            long[] expected = weightShape(l);
            INDArray wt = weights.get(l.name());
            INDArray b = biases.get(l.name());
            if (wt == null || !Arrays.equals(wt.shape(), expected)) {
                throw new IllegalArgumentException("model " + name + ": layer " + l.name() + " needs weights of shape "
                        + Arrays.toString(expected) + ", got " + (wt == null ? "none" : Arrays.toString(wt.shape())));
            }
            if (b == null || b.length() != expected[l instanceof LayerSpec.Dense ? 1 : 0]) {
                throw new IllegalArgumentException("model " + name + ": layer " + l.name() + " needs a bias of length "
                        + expected[l instanceof LayerSpec.Dense ? 1 : 0]);
            }
        }
        this.weights = Collections.unmodifiableMap(new LinkedHashMap<>(weights));
        this.biases = Collections.unmodifiableMap(new LinkedHashMap<>(biases));
        ShapeTrace.trace(this); // validates that consecutive layers fit together
    }

    public String name() {
        return name;
    }

    /** Per-sample input shape: [features] or [channels, height, width]. */
    public long[] inputShape() {
        return inputShape.clone();
    }

    public List<LayerSpec> layers() {
        return layers;
    }

    /** Weighted layers (adapter slots) by name, in order. */
    public Map<String, LayerSpec> slots() {
        return weighted;
    }

    public LayerSpec slot(String layer) {
        LayerSpec l = weighted.get(layer);
        if (l == null) {
            throw new IllegalArgumentException("model " + name + " has no layer '" + layer + "'; its layers are " + weighted.keySet());
        }
        return l;
    }

    public INDArray weight(String layer) {
        slot(layer);
        return weights.get(layer);
    }

    public INDArray bias(String layer) {
        slot(layer);
        return biases.get(layer);
    }

    public long classes() {
        return ((LayerSpec.Dense) layers.get(layers.size() - 1)).out();
    }

    /** Number of frozen parameters. */
    public long numParams() {
        long n = 0;
        for (String l : weighted.keySet()) {
            n += weights.get(l).length() + biases.get(l).length();
        }
        return n;
    }

    /** A copy with other weights (same architecture), e.g. after full fine-tuning. */
    public BaseModel withWeights(String newName, Map<String, INDArray> newWeights, Map<String, INDArray> newBiases) {
        return new BaseModel(newName, inputShape, layers, newWeights, newBiases);
    }

    static long[] weightShape(LayerSpec l) {
        if (l instanceof LayerSpec.Dense d) {
            return new long[] {d.in(), d.out()};
        }
        LayerSpec.Conv2d c = (LayerSpec.Conv2d) l;
        return new long[] {c.outChannels(), c.inChannels(), c.geometry().kernelH(), c.geometry().kernelW()};
    }

    // ---- the paper's image-classification bases -------------------------------------------------

    /** Linear: flatten -> dense(784 -> classes). */
    public static BaseModel linear(long[] inputShape, long classes, long seed) {
        long features = Arrays.stream(inputShape).reduce(1, (a, b) -> a * b);
        List<LayerSpec> layers = new ArrayList<>();
        if (inputShape.length > 1) {
            layers.add(new LayerSpec.Flatten());
        }
        layers.add(new LayerSpec.Dense("fc", features, classes));
        return randomInit("linear", inputShape, layers, seed);
    }

    /** MLP: flatten -> dense -> relu -> ... -> dense(classes); the paper uses hidden 128, 256. */
    public static BaseModel mlp(long[] inputShape, List<Integer> hidden, long classes, long seed) {
        long prev = Arrays.stream(inputShape).reduce(1, (a, b) -> a * b);
        List<LayerSpec> layers = new ArrayList<>();
        if (inputShape.length > 1) {
            layers.add(new LayerSpec.Flatten());
        }
        for (int i = 0; i < hidden.size(); i++) {
            layers.add(new LayerSpec.Dense("fc" + (i + 1), prev, hidden.get(i)));
            layers.add(new LayerSpec.Relu());
            prev = hidden.get(i);
        }
        layers.add(new LayerSpec.Dense("fc" + (hidden.size() + 1), prev, classes));
        return randomInit("mlp", inputShape, layers, seed);
    }

    /**
     * CNN as in the ColA reference code: blocks of conv3x3(pad 1) -> relu -> maxpool 2, the last
     * block without pooling, then global average pooling and a dense output layer. The paper uses
     * channels 64, 128, 256, 512.
     */
    public static BaseModel cnn(long[] inputShape, List<Integer> channels, long classes, long seed) {
        if (inputShape.length != 3) {
            throw new IllegalArgumentException("the CNN base needs [channels, height, width] inputs, got " + Arrays.toString(inputShape));
        }
        List<LayerSpec> layers = new ArrayList<>();
        long prev = inputShape[0];
        ConvGeometry same = ConvGeometry.square(3, 1, 1);
        for (int i = 0; i < channels.size(); i++) {
            layers.add(new LayerSpec.Conv2d("conv" + (i + 1), prev, channels.get(i), same));
            layers.add(new LayerSpec.Relu());
            if (i < channels.size() - 1) {
                layers.add(new LayerSpec.MaxPool(2, 2));
            }
            prev = channels.get(i);
        }
        layers.add(new LayerSpec.GlobalAvgPool());
        layers.add(new LayerSpec.Dense("fc", prev, classes));
        return randomInit("cnn", inputShape, layers, seed);
    }

    /**
     * Weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) from a seeded stream: PyTorch's default
     * initialisation of nn.Linear / nn.Conv2d, the paper's random frozen base.
     */
    public static BaseModel randomInit(String name, long[] inputShape, List<LayerSpec> layers, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Map<String, INDArray> w = new LinkedHashMap<>();
        Map<String, INDArray> b = new LinkedHashMap<>();
        for (LayerSpec l : layers) {
            if (l.name() == null) {
                continue;
            }
            long[] shape = weightShape(l);
            long fanIn = Arrays.stream(shape).reduce(1, (p, q) -> p * q) / (l instanceof LayerSpec.Dense ? shape[1] : shape[0]);
            double bound = 1.0 / Math.sqrt(fanIn);
            w.put(l.name(), NdArrays.uniform(rng, bound, shape));
            b.put(l.name(), NdArrays.uniform(rng, bound, l instanceof LayerSpec.Dense ? shape[1] : shape[0]));
        }
        return new BaseModel(name, inputShape, layers, w, b);
    }
}
