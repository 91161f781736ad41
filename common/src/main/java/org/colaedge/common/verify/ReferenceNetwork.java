package org.colaedge.common.verify;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.colaedge.common.NdArrays;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.adapter.AdapterKind;
import org.colaedge.common.adapter.ConvGeometry;
import org.colaedge.common.adapter.GraphLayout;
import org.colaedge.common.learning.HiddenGradient;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A small frozen network with adapters, built in SameDiff, used as the independent reference of
 * the proofs: SameDiff autodiff back-propagates through the whole adapted network and yields both
 * dL/dw of every adapter parameter and the hidden gradients dL/dh_m.
 *
 * <p>Layers are dense or conv2d (NCHW), ReLU between them, a softmax cross-entropy loss averaged
 * over the batch on the last layer's output. Base weights are seeded and frozen (constants). In
 * {@link Mode#UNMERGED} an adapted layer computes h = base(x) + g_w(x) with the adapter
 * parameters as SameDiff variables; in {@link Mode#MERGED} it computes with W + alpha dW fed as a
 * placeholder (plus a zero-valued variable at h, which SameDiff needs to differentiate a path).
 *
 * <p>This class is verification code: it computes parameter gradients on purpose. The
 * coordinator's engine (which must not) is separate.
 */
public final class ReferenceNetwork {

    /** How adapted layers compute. */
    public enum Mode { UNMERGED, MERGED }

    /** A layer of the frozen base. */
    public sealed interface Layer {
        String name();
    }

    /** Dense layer h = x W + b, W: [in, out]. */
    public record Dense(String name, long in, long out) implements Layer { }

    /** Conv2d layer over NCHW with kernel K: [out, in, kH, kW] and bias [out]. */
    public record Conv(String name, long inChannels, long outChannels, ConvGeometry geometry) implements Layer { }

    /** Result of one forward/backward pass. */
    public record Pass(double loss, INDArray logits, Map<String, HiddenGradient> hidden, Map<String, INDArray> parameterGradients) { }

    private static final String SEP = "__";

    private final List<Layer> layers;
    private final long[] inputShape;
    private final long classes;
    private final Mode mode;
    private final Map<String, Adapter> adapters;
    private final Map<String, INDArray> baseWeights = new HashMap<>();
    private final Map<String, INDArray> baseBiases = new HashMap<>();
    private final Map<String, String> layerInputNames = new LinkedHashMap<>();
    private final SameDiff sd = SameDiff.create();

    /**
     * @param inputShape per-sample input shape ([features] or [channels, height, width])
     * @param adapters   adapted layers; their parameters are read at every {@link #run}
     */
    public ReferenceNetwork(long[] inputShape, List<Layer> layers, Map<String, Adapter> adapters, Mode mode, long seed) {
        this.layers = List.copyOf(layers);
        this.inputShape = inputShape.clone();
        this.mode = mode;
        this.adapters = new LinkedHashMap<>(adapters);
        Layer last = layers.get(layers.size() - 1);
        if (!(last instanceof Dense d)) {
            throw new IllegalArgumentException("the last layer must be dense (the logits)");
        }
        this.classes = d.out();
        SplittableRandom rng = new SplittableRandom(seed);
        for (Layer l : layers) {
            long fanIn;
            long[] wShape;
            long out;
            if (l instanceof Dense dl) {
                fanIn = dl.in();
                wShape = new long[] {dl.in(), dl.out()};
                out = dl.out();
            } else {
                Conv c = (Conv) l;
                fanIn = c.inChannels() * c.geometry().kernelH() * c.geometry().kernelW();
                wShape = new long[] {c.outChannels(), c.inChannels(), c.geometry().kernelH(), c.geometry().kernelW()};
                out = c.outChannels();
            }
            double bound = 1.0 / Math.sqrt(fanIn);
            baseWeights.put(l.name(), NdArrays.uniform(rng, bound, wShape));
            baseBiases.put(l.name(), NdArrays.uniform(rng, bound, out));
        }
        for (Adapter a : adapters.values()) {
            if (mode == Mode.MERGED && !a.mergeable()) {
                throw new IllegalArgumentException(a.kind() + " adapter of " + a.layer() + " cannot run merged");
            }
        }
        build();
    }

    public Mode mode() {
        return mode;
    }

    public long classes() {
        return classes;
    }

    public INDArray baseWeight(String layer) {
        return baseWeights.get(layer);
    }

    /** One forward/backward pass with the adapters' current parameters. */
    public Pass run(INDArray input, INDArray oneHotLabels) {
        Map<String, INDArray> feed = new HashMap<>();
        feed.put("input", input);
        feed.put("labels", oneHotLabels);
        List<String> gradNames = new ArrayList<>();
        for (Adapter a : adapters.values()) {
            gradNames.add(a.layer() + SEP + "h");
            if (mode == Mode.UNMERGED) {
                for (Map.Entry<String, INDArray> p : a.paramViews().entrySet()) {
                    String name = a.layer() + SEP + p.getKey();
                    sd.getVariable(name).setArray(GraphLayout.toGraph(a, p.getKey(), p.getValue()));
                    gradNames.add(name);
                }
            } else {
                INDArray merged = baseWeights.get(a.layer()).add(a.deltaWeight().mul(a.spec().scaling()));
                feed.put(a.layer() + SEP + "Wmerged", weightToGraph(a.layer(), merged));
                INDArray bias = baseBiases.get(a.layer());
                INDArray db = a.deltaBias();
                feed.put(a.layer() + SEP + "bmerged", db == null ? bias : bias.add(db.mul(a.spec().scaling())));
            }
        }
        List<String> outputs = new ArrayList<>(layerInputNames.values());
        outputs.add("loss");
        outputs.add("logits");
        OutAndGrad og = sd.calculateGradientsAndOutputs(feed, outputs, gradNames);
        Map<String, INDArray> outs = og.getOutputs();
        Map<String, INDArray> grads = og.getGradients();
        Map<String, HiddenGradient> hidden = new LinkedHashMap<>();
        Map<String, INDArray> paramGrads = new LinkedHashMap<>();
        for (Adapter a : adapters.values()) {
            INDArray x = outs.get(layerInputNames.get(a.layer())).dup();
            hidden.put(a.layer(), new HiddenGradient(x, grads.get(a.layer() + SEP + "h").dup()));
            if (mode == Mode.UNMERGED) {
                Map<String, INDArray> named = new LinkedHashMap<>();
                for (String p : a.paramViews().keySet()) {
                    named.put(p, GraphLayout.fromGraph(a, p, grads.get(a.layer() + SEP + p)));
                }
                paramGrads.put(a.layer(), a.flatten(named));
            }
        }
        return new Pass(outs.get("loss").getDouble(0), outs.get("logits").dup(), hidden, paramGrads);
    }

    private void build() {
        long[] phShape = new long[inputShape.length + 1];
        phShape[0] = -1;
        System.arraycopy(inputShape, 0, phShape, 1, inputShape.length);
        SDVariable x = sd.placeHolder("input", DataType.FLOAT, phShape);
        SDVariable labels = sd.placeHolder("labels", DataType.FLOAT, -1, classes);
        long[] shape = inputShape.clone();
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            if (l instanceof Dense d && shape.length > 1) {
                long flat = Arrays.stream(shape).reduce(1, (p, q) -> p * q);
                if (flat != d.in()) {
                    throw new IllegalArgumentException("layer " + d.name() + " takes " + d.in() + " features, gets " + flat);
                }
                x = x.reshape(-1, flat);
                shape = new long[] {flat};
            }
            layerInputNames.put(l.name(), x.name());
            Adapter a = adapters.get(l.name());
            SDVariable h;
            if (l instanceof Dense d) {
                SDVariable w = weightFor(l.name(), a, baseWeights.get(l.name()));
                SDVariable b = biasFor(l.name(), a, baseBiases.get(l.name()));
                h = x.mmul(w).add(b);
                shape = new long[] {d.out()};
            } else {
                Conv c = (Conv) l;
                SDVariable k = weightFor(l.name(), a, weightToGraph(l.name(), baseWeights.get(l.name())));
                SDVariable b = biasFor(l.name(), a, baseBiases.get(l.name()));
                h = sd.cnn().conv2d(x, k, convConfig(c.geometry())).add(b.reshape(1, c.outChannels(), 1, 1));
                shape = new long[] {c.outChannels(), c.geometry().outHeight(shape[1]), c.geometry().outWidth(shape[2])};
            }
            if (a != null) {
                if (mode == Mode.UNMERGED) {
                    h = h.add(adapterOutput(sd, x, a, l.name()));
                } else {
                    long[] slotShape = l instanceof Dense ? new long[] {1, shape[0]} : new long[] {1, shape[0], 1, 1};
                    h = h.add(sd.var(l.name() + SEP + "slot", Nd4j.zeros(DataType.FLOAT, slotShape)));
                }
                h = sd.identity(l.name() + SEP + "h", h);
            }
            x = i < layers.size() - 1 ? sd.nn().relu(h, 0) : sd.identity("logits", h);
        }
        SDVariable logProbs = sd.nn().logSoftmax(x);
        SDVariable loss = labels.mul(logProbs).sum(1).mean().neg();
        sd.identity("loss", loss);
        sd.setLossVariables("loss");
    }

    private SDVariable weightFor(String layer, Adapter a, INDArray graphWeight) {
        if (a != null && mode == Mode.MERGED) {
            return sd.placeHolder(layer + SEP + "Wmerged", DataType.FLOAT, graphWeight.shape());
        }
        return sd.constant(layer + SEP + "baseW", graphWeight);
    }

    private SDVariable biasFor(String layer, Adapter a, INDArray bias) {
        if (a != null && mode == Mode.MERGED) {
            return sd.placeHolder(layer + SEP + "bmerged", DataType.FLOAT, bias.shape());
        }
        return sd.constant(layer + SEP + "baseb", bias);
    }

    /**
     * The adapter's g_w(x) in SameDiff ops, with its parameters as variables named
     * {@code prefix__param}. Written independently of the adapters' ND4J code.
     */
    static SDVariable adapterOutput(SameDiff sd, SDVariable x, Adapter a, String prefix) {
        float s = a.spec().scaling();
        Map<String, SDVariable> p = new LinkedHashMap<>();
        for (Map.Entry<String, INDArray> e : a.paramViews().entrySet()) {
            INDArray init = GraphLayout.toGraph(a, e.getKey(), e.getValue()).castTo(x.dataType());
            p.put(e.getKey(), sd.var(prefix + SEP + e.getKey(), init));
        }
        SDVariable y;
        if (a.kind() == AdapterKind.LINEAR) {
            y = x.mmul(p.get("W"));
            if (p.containsKey("b")) {
                y = y.add(p.get("b"));
            }
        } else if (a.kind() == AdapterKind.LOW_RANK) {
            y = x.mmul(p.get("A")).mmul(p.get("B"));
        } else if (a.kind() == AdapterKind.MLP) {
            int layers = a.spec().hidden().size() + 1;
            y = x;
            for (int i = 0; i < layers; i++) {
                y = y.mmul(p.get("W" + i)).add(p.get("b" + i));
                if (i < layers - 1) {
                    y = sd.nn().relu(y, 0);
                }
            }
        } else {
            SDVariable u = sd.cnn().conv2d(x, p.get("A"), convConfig(a.spec().conv()));
            y = sd.cnn().conv2d(u, p.get("B"), convConfig(ConvGeometry.square(1, 1, 0)));
        }
        return s == 1f ? y : y.mul(s);
    }

    /** Base weight layout ([in, out] dense; [out, in, kH, kW] conv) -> graph layout. */
    private INDArray weightToGraph(String layer, INDArray w) {
        return w.rank() == 4 ? GraphLayout.kernelToGraph(w) : w;
    }

    static Conv2DConfig convConfig(ConvGeometry g) {
        return Conv2DConfig.builder()
                .kH(g.kernelH()).kW(g.kernelW())
                .sH(g.strideH()).sW(g.strideW())
                .pH(g.padH()).pW(g.padW())
                .paddingMode(PaddingMode.VALID)
                .dataFormat("NCHW")
                .build();
    }


    static INDArray gaussian(SplittableRandom rng, long... shape) {
        long n = Arrays.stream(shape).reduce(1, (p, q) -> p * q);
        float[] v = new float[(int) n];
        for (int i = 0; i < v.length; i++) {
            double u1 = 1.0 - rng.nextDouble();
            double u2 = rng.nextDouble();
            v[i] = (float) (Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2));
        }
        return Nd4j.create(v, shape, 'c');
    }
}
