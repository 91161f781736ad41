package org.colaedge.coordinator.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.adapter.AdapterKind;
import org.colaedge.common.adapter.AdapterSpec;
import org.colaedge.common.adapter.GraphLayout;
import org.colaedge.common.learning.HiddenGradient;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The coordinator's work for one training step: a forward pass of the frozen base model with
 * each user's adapters, and a backward pass that computes only the hidden gradients
 * delta_m = dL/dh_m at the adapted layers.
 *
 * <p>The base model is a SameDiff graph whose weights are constants. The backward pass is built
 * explicitly from input-gradient ops (delta W^T, transposed convolution, max-pool and ReLU
 * derivatives, and the adapters' J_x^T delta); it is not SameDiff autodiff, so no weight-gradient
 * op exists in the graph at all — autodiff's matmul backward would emit dW of every frozen layer
 * above the lowest adapter. The backward pass stops at the lowest adapted layer.
 *
 * <p>A batch may mix users ("alone" mode): rows are grouped by user into {@link Segment}s, each
 * computed with its own {@link ModelView} (unmerged adapters or merged weights) in the same graph
 * execution; results are split back per segment. Segments that share one view object (a single
 * user, or a collaboration group computing with one merged model) run as one unsplit batch. The
 * loss is the sum over segments of each segment's mean cross-entropy, so every user receives the
 * hidden gradients of its own mean loss, exactly as if its rows had been computed alone.
 *
 * <p>Graphs are built once per batch structure (which views, which adapter kinds) and cached.
 * Not thread-safe: one engine per worker thread (DL4J's model-per-thread rule).
 */
public final class HiddenGradientEngine {

    /** {@code rows} consecutive rows of the batch computed with {@code view}. */
    public record Segment(int rows, ModelView view) {
        public Segment {
            if (rows < 1) {
                throw new IllegalArgumentException("a segment needs at least one row, got " + rows);
            }
        }
    }

    /** One segment's share of the result: its mean loss and, per adapted slot, (x_m, delta_m) of its rows. */
    public record SegmentResult(String viewId, int firstRow, int rows, double loss, Map<String, HiddenGradient> hidden) { }

    /** The whole step: per-sample cross-entropy [N], logits [N, classes], and the per-segment results. */
    public record StepResult(INDArray perSampleLoss, INDArray logits, List<SegmentResult> segments) {
        public double meanLoss() {
            return perSampleLoss.meanNumber().doubleValue();
        }
    }

    private static final String SEP = "__";

    private final BaseModel model;
    private final List<long[]> shapes;
    private final Map<String, INDArray> constWeights = new HashMap<>();
    private final Map<String, Compiled> graphs = new HashMap<>();
    private final IdentityHashMap<INDArray, INDArray> kernelCache = new IdentityHashMap<>();

    public HiddenGradientEngine(BaseModel model) {
        this.model = model;
        this.shapes = ShapeTrace.trace(model);
        for (Map.Entry<String, LayerSpec> e : model.slots().entrySet()) {
            INDArray w = model.weight(e.getKey());
            constWeights.put(e.getKey(), e.getValue() instanceof LayerSpec.Conv2d ? GraphLayout.kernelToGraph(w) : w);
        }
    }

    public BaseModel model() {
        return model;
    }

    /** Number of distinct graphs built so far (batch structures seen). */
    public int cachedGraphs() {
        return graphs.size();
    }

    /** The graph that {@link #compute} would run for these segments (for inspection and op listeners). */
    public SameDiff graphFor(List<Segment> segments) {
        return compiled(segments).sd;
    }

    /**
     * One forward/backward pass.
     *
     * @param input    [N, ...input shape], rows grouped by segment in order
     * @param oneHot   [N, classes]
     * @param segments row counts summing to N, each with its view
     */
    public StepResult compute(INDArray input, INDArray oneHot, List<Segment> segments) {
        long n = input.size(0);
        long[] expected = new long[shapes.get(0).length + 1];
        expected[0] = n;
        System.arraycopy(shapes.get(0), 0, expected, 1, shapes.get(0).length);
        if (!Arrays.equals(input.shape(), expected)) {
            throw new IllegalArgumentException("model " + model.name() + ": input must have shape " + Arrays.toString(expected)
                    + ", was " + Arrays.toString(input.shape()));
        }
        if (oneHot.rank() != 2 || oneHot.size(0) != n || oneHot.size(1) != model.classes()) {
            throw new IllegalArgumentException("labels must be one-hot [" + n + ", " + model.classes() + "], were " + Arrays.toString(oneHot.shape()));
        }
        if (segments.isEmpty() || segments.stream().mapToLong(Segment::rows).sum() != n) {
            throw new IllegalArgumentException("segments must cover the " + n + " rows of the batch, got " + segments.stream().map(Segment::rows).toList());
        }
        Compiled c = compiled(segments);
        Map<String, INDArray> feed = new HashMap<>();
        feed.put("input", input.dataType() == DataType.FLOAT ? input : input.castTo(DataType.FLOAT));
        feed.put("labels", oneHot.dataType() == DataType.FLOAT ? oneHot : oneHot.castTo(DataType.FLOAT));
        float[] weights = new float[(int) n];
        int row = 0;
        for (int u = 0; u < segments.size(); u++) {
            Segment s = segments.get(u);
            Arrays.fill(weights, row, row + s.rows(), 1f / s.rows());
            if (!c.shared) {
                feed.put("idx" + u, Nd4j.arange(row, row + s.rows()).castTo(DataType.INT));
            }
            row += s.rows();
        }
        feed.put("w", Nd4j.createFromArray(weights));
        int views = c.shared ? 1 : segments.size();
        for (int u = 0; u < views; u++) {
            for (Map.Entry<String, SlotView> e : segments.get(u).view().slots().entrySet()) {
                feedSlot(feed, u, e.getKey(), e.getValue());
            }
        }
        Map<String, INDArray> out = c.sd.output(feed, c.outputs);
        INDArray ce = out.get("ce");
        List<SegmentResult> results = new ArrayList<>();
        row = 0;
        for (Segment s : segments) {
            INDArrayIndex rows = NDArrayIndex.interval(row, row + s.rows());
            Map<String, HiddenGradient> hidden = new LinkedHashMap<>();
            for (String slot : s.view().slots().keySet()) {
                hidden.put(slot, new HiddenGradient(rowsOf(out.get("x" + SEP + slot), row, s.rows()),
                        rowsOf(out.get("delta" + SEP + slot), row, s.rows())));
            }
            double loss = ce.get(rows).meanNumber().doubleValue();
            results.add(new SegmentResult(s.view().id(), row, s.rows(), loss, hidden));
            row += s.rows();
        }
        return new StepResult(ce, out.get("logits"), results);
    }

    /** Logits only (inference), computing with one view for the whole batch. */
    public INDArray logits(INDArray input, ModelView view) {
        INDArray labels = Nd4j.zeros(DataType.FLOAT, input.size(0), model.classes());
        return compute(input, labels, List.of(new Segment((int) input.size(0), view))).logits();
    }

    private static INDArray rowsOf(INDArray a, int first, int rows) {
        if (first == 0 && rows == a.size(0)) {
            return a;
        }
        INDArrayIndex[] idx = new INDArrayIndex[a.rank()];
        idx[0] = NDArrayIndex.interval(first, first + rows);
        for (int d = 1; d < idx.length; d++) {
            idx[d] = NDArrayIndex.all();
        }
        return a.get(idx).dup('c');
    }

    private void feedSlot(Map<String, INDArray> feed, int u, String slot, SlotView view) {
        if (view instanceof SlotView.Unmerged um) {
            Adapter a = um.adapter();
            for (Map.Entry<String, INDArray> p : a.paramViews().entrySet()) {
                INDArray v = a.kind() == AdapterKind.CONV_LOW_RANK ? GraphLayout.toGraph(a, p.getKey(), p.getValue()) : p.getValue();
                feed.put(paramName(u, slot, p.getKey()), v);
            }
        } else {
            SlotView.Merged m = (SlotView.Merged) view;
            INDArray w = m.weight();
            if (w.rank() == 4) {
                w = kernelCache.computeIfAbsent(w, GraphLayout::kernelToGraph);
                if (kernelCache.size() > 64) {
                    kernelCache.clear();
                }
            }
            feed.put(paramName(u, slot, "mW"), w);
            feed.put(paramName(u, slot, "mb"), m.bias());
        }
    }

    private static String paramName(int u, String slot, String param) {
        return "u" + u + SEP + slot + SEP + param;
    }

    // ---- graph construction -------------------------------------------------------------------

    private static final class Compiled {
        final SameDiff sd = SameDiff.create();
        final boolean shared;
        final List<String> outputs = new ArrayList<>();

        Compiled(boolean shared) {
            this.shared = shared;
        }
    }

    private Compiled compiled(List<Segment> segments) {
        boolean shared = segments.stream().allMatch(s -> s.view() == segments.get(0).view());
        List<ModelView> views = shared ? List.of(segments.get(0).view()) : segments.stream().map(Segment::view).toList();
        StringBuilder sig = new StringBuilder(shared ? "S" : "P");
        for (ModelView v : views) {
            sig.append('|');
            for (String slot : model.slots().keySet()) {
                SlotView sv = v.slots().get(slot);
                if (sv == null) {
                    sig.append('-');
                } else if (sv instanceof SlotView.Merged) {
                    sig.append('M');
                } else {
                    Adapter a = ((SlotView.Unmerged) sv).adapter();
                    sig.append('U').append(a.kind()).append(a.spec().scaling());
                    a.paramShapes().values().forEach(shape -> sig.append(Arrays.toString(shape)));
                }
                sig.append(';');
            }
        }
        for (ModelView v : views) {
            for (Map.Entry<String, SlotView> e : v.slots().entrySet()) {
                validateSlot(e.getKey(), e.getValue());
            }
        }
        return graphs.computeIfAbsent(sig.toString(), k -> build(views, shared));
    }

    private void validateSlot(String slot, SlotView view) {
        LayerSpec l = model.slot(slot);
        long[] w = BaseModel.weightShape(l);
        if (view instanceof SlotView.Merged m) {
            if (!Arrays.equals(m.weight().shape(), w) || m.bias() == null || m.bias().length() != model.bias(slot).length()) {
                throw new IllegalArgumentException("merged weights for layer " + slot + " must be " + Arrays.toString(w)
                        + " with a bias of " + model.bias(slot).length() + ", got " + Arrays.toString(m.weight().shape()));
            }
            return;
        }
        AdapterSpec s = ((SlotView.Unmerged) view).adapter().spec();
        boolean conv = l instanceof LayerSpec.Conv2d;
        boolean fits = conv
                ? s.kind() == AdapterKind.CONV_LOW_RANK && s.inFeatures() == w[1] && s.outFeatures() == w[0]
                        && s.conv().equals(((LayerSpec.Conv2d) l).geometry())
                : s.kind() != AdapterKind.CONV_LOW_RANK && s.inFeatures() == w[0] && s.outFeatures() == w[1];
        if (!fits) {
            throw new IllegalArgumentException("a " + s.kind() + " adapter " + s.inFeatures() + "->" + s.outFeatures()
                    + " does not fit layer " + slot + " (" + l + ")");
        }
    }

    private Compiled build(List<ModelView> views, boolean shared) {
        Compiled c = new Compiled(shared);
        SameDiff sd = c.sd;
        List<LayerSpec> layers = model.layers();
        long[] in = shapes.get(0);
        long[] ph = new long[in.length + 1];
        ph[0] = -1;
        System.arraycopy(in, 0, ph, 1, in.length);
        SDVariable x = sd.placeHolder("input", DataType.FLOAT, ph);
        SDVariable labels = sd.placeHolder("labels", DataType.FLOAT, -1, model.classes());
        SDVariable weights = sd.placeHolder("w", DataType.FLOAT, -1);
        SDVariable[] idx = new SDVariable[views.size()];
        if (!shared) {
            for (int u = 0; u < views.size(); u++) {
                idx[u] = sd.placeHolder("idx" + u, DataType.INT, -1);
            }
        }
        // Per (user, slot): parameter placeholders.
        List<Map<String, Map<String, SDVariable>>> params = new ArrayList<>();
        for (int u = 0; u < views.size(); u++) {
            Map<String, Map<String, SDVariable>> perSlot = new HashMap<>();
            for (Map.Entry<String, SlotView> e : views.get(u).slots().entrySet()) {
                Map<String, SDVariable> p = new LinkedHashMap<>();
                if (e.getValue() instanceof SlotView.Unmerged um) {
                    Adapter a = um.adapter();
                    for (Map.Entry<String, INDArray> pv : a.paramViews().entrySet()) {
                        long[] shape = GraphLayout.toGraph(a, pv.getKey(), pv.getValue()).shape();
                        p.put(pv.getKey(), sd.placeHolder(paramName(u, e.getKey(), pv.getKey()), DataType.FLOAT, shape));
                    }
                } else {
                    long[] ws = constWeights.get(e.getKey()).shape();
                    p.put("mW", sd.placeHolder(paramName(u, e.getKey(), "mW"), DataType.FLOAT, ws));
                    p.put("mb", sd.placeHolder(paramName(u, e.getKey(), "mb"), DataType.FLOAT, model.bias(e.getKey()).length()));
                }
                perSlot.put(e.getKey(), p);
            }
            params.add(perSlot);
        }

        int lowest = -1;
        for (int i = 0; i < layers.size(); i++) {
            String name = layers.get(i).name();
            if (name != null && views.stream().anyMatch(v -> v.slots().containsKey(name))) {
                lowest = i;
                break;
            }
        }

        // Forward.
        SDVariable[] inputs = new SDVariable[layers.size()];
        Map<String, SDVariable[]> segmentInputs = new HashMap<>();
        for (int i = 0; i < layers.size(); i++) {
            LayerSpec l = layers.get(i);
            inputs[i] = x;
            if (l.name() != null) {
                x = weightedForward(sd, l, x, views, params, idx, shared, segmentInputs);
            } else {
                x = GraphOps.parameterFree(sd, l, x, shapes.get(i + 1));
            }
        }
        sd.identity("logits", x);
        sd.identity("ce", GraphOps.crossEntropy(sd, x, labels));
        c.outputs.add("logits");
        c.outputs.add("ce");
        if (lowest < 0) {
            return c;
        }

        // Backward: hidden gradients only, down to the lowest adapted layer.
        SDVariable g = sd.nn().softmax(x, 1).sub(labels).mul(weights.reshape(-1, 1));
        for (int i = layers.size() - 1; i >= lowest; i--) {
            LayerSpec l = layers.get(i);
            long[] inShape = shapes.get(i);
            if (l.name() != null) {
                String name = l.name();
                if (views.stream().anyMatch(v -> v.slots().containsKey(name))) {
                    sd.identity("x" + SEP + name, inputs[i]);
                    sd.identity("delta" + SEP + name, g);
                    c.outputs.add("x" + SEP + name);
                    c.outputs.add("delta" + SEP + name);
                }
                if (i == lowest) {
                    break;
                }
                if (l instanceof LayerSpec.Conv2d conv) {
                    var geo = conv.geometry();
                    if ((inShape[1] + 2L * geo.padH() - geo.kernelH()) % geo.strideH() != 0
                            || (inShape[2] + 2L * geo.padW() - geo.kernelW()) % geo.strideW() != 0) {
                        throw new IllegalArgumentException("layer " + name + ": the transposed convolution cannot restore input "
                                + Arrays.toString(inShape) + " exactly (stride does not divide the padded extent)");
                    }
                }
                g = weightedInputGrad(sd, l, g, inputs[i], views, params, idx, shared, segmentInputs);
            } else if (l instanceof LayerSpec.Relu) {
                g = GraphOps.reluInputGrad(sd, inputs[i], g);
            } else if (l instanceof LayerSpec.MaxPool p) {
                g = GraphOps.maxPoolInputGrad(sd, inputs[i], g, p);
            } else if (l instanceof LayerSpec.GlobalAvgPool) {
                g = GraphOps.globalAvgPoolInputGrad(sd, inputs[i], g, inShape[0], inShape[1], inShape[2]);
            } else if (l instanceof LayerSpec.Flatten) {
                long[] s = new long[inShape.length + 1];
                s[0] = -1;
                System.arraycopy(inShape, 0, s, 1, inShape.length);
                g = g.reshape(s);
            }
        }
        return c;
    }

    private SDVariable base(SameDiff sd, LayerSpec l, SDVariable x, SDVariable w, SDVariable b) {
        return l instanceof LayerSpec.Conv2d conv ? GraphOps.conv(sd, x, w, b, conv.geometry()) : GraphOps.dense(x, w, b);
    }

    private SDVariable baseInputGrad(SameDiff sd, LayerSpec l, SDVariable delta, SDVariable w) {
        return l instanceof LayerSpec.Conv2d conv ? GraphOps.convInputGrad(sd, delta, w, conv.geometry()) : GraphOps.denseInputGrad(sd, delta, w);
    }

    private SDVariable weightedForward(SameDiff sd, LayerSpec l, SDVariable x, List<ModelView> views,
                                       List<Map<String, Map<String, SDVariable>>> params, SDVariable[] idx, boolean shared,
                                       Map<String, SDVariable[]> segmentInputs) {
        String name = l.name();
        SDVariable w = sd.constant(name + SEP + "W", constWeights.get(name));
        SDVariable b = sd.constant(name + SEP + "b", model.bias(name));
        boolean any = views.stream().anyMatch(v -> v.slots().containsKey(name));
        if (!any) {
            return base(sd, l, x, w, b);
        }
        if (shared) {
            return segmentForward(sd, l, x, views.get(0).slots().get(name), params.get(0).get(name), w, b);
        }
        SDVariable[] xs = new SDVariable[views.size()];
        SDVariable[] parts = new SDVariable[views.size()];
        for (int u = 0; u < views.size(); u++) {
            xs[u] = sd.gather(x, idx[u], 0);
            parts[u] = segmentForward(sd, l, xs[u], views.get(u).slots().get(name), params.get(u).get(name), w, b);
        }
        segmentInputs.put(name, xs);
        return sd.concat(0, parts);
    }

    private SDVariable segmentForward(SameDiff sd, LayerSpec l, SDVariable x, SlotView view, Map<String, SDVariable> p,
                                      SDVariable w, SDVariable b) {
        if (view == null) {
            return base(sd, l, x, w, b);
        }
        if (view instanceof SlotView.Merged) {
            return base(sd, l, x, p.get("mW"), p.get("mb"));
        }
        AdapterSpec spec = ((SlotView.Unmerged) view).adapter().spec();
        return base(sd, l, x, w, b).add(GraphOps.adapterForward(sd, x, spec, p));
    }

    private SDVariable weightedInputGrad(SameDiff sd, LayerSpec l, SDVariable delta, SDVariable x, List<ModelView> views,
                                         List<Map<String, Map<String, SDVariable>>> params, SDVariable[] idx, boolean shared,
                                         Map<String, SDVariable[]> segmentInputs) {
        String name = l.name();
        SDVariable w = sd.getVariable(name + SEP + "W");
        boolean any = views.stream().anyMatch(v -> v.slots().containsKey(name));
        if (!any) {
            return baseInputGrad(sd, l, delta, w);
        }
        if (shared) {
            return segmentInputGrad(sd, l, delta, x, views.get(0).slots().get(name), params.get(0).get(name), w);
        }
        SDVariable[] xs = segmentInputs.get(name);
        SDVariable[] parts = new SDVariable[views.size()];
        for (int u = 0; u < views.size(); u++) {
            SDVariable du = sd.gather(delta, idx[u], 0);
            parts[u] = segmentInputGrad(sd, l, du, xs[u], views.get(u).slots().get(name), params.get(u).get(name), w);
        }
        return sd.concat(0, parts);
    }

    private SDVariable segmentInputGrad(SameDiff sd, LayerSpec l, SDVariable delta, SDVariable x, SlotView view,
                                        Map<String, SDVariable> p, SDVariable w) {
        if (view == null) {
            return baseInputGrad(sd, l, delta, w);
        }
        if (view instanceof SlotView.Merged) {
            return baseInputGrad(sd, l, delta, p.get("mW"));
        }
        AdapterSpec spec = ((SlotView.Unmerged) view).adapter().spec();
        return baseInputGrad(sd, l, delta, w).add(GraphOps.adapterInputGrad(sd, x, delta, spec, p));
    }
}
