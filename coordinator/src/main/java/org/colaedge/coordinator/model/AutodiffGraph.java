package org.colaedge.coordinator.model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.adapter.GraphLayout;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.api.OutAndGrad;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The base model (optionally with adapters) as an ordinary SameDiff training graph differentiated
 * by autodiff: what the server-side baselines use. {@link Trainable#ADAPTERS} (PEFT_SERVER)
 * makes the adapter parameters variables and the base constants; {@link Trainable#BASE} (FULL)
 * makes the base weights variables. The loss is the batch-mean softmax cross-entropy.
 *
 * <p>Also the independent reference of the hidden-gradient engine's tests: autodiff yields
 * dL/dh_m at every adapted layer. Not thread-safe.
 */
public final class AutodiffGraph {

    /** What autodiff differentiates. */
    public enum Trainable { ADAPTERS, BASE }

    /** Loss, logits, parameter gradients and (ADAPTERS) hidden gradients dL/dh_m of one batch. */
    public record Gradients(double loss, INDArray logits, Map<String, INDArray> parameterGradients, Map<String, INDArray> hiddenGradients) { }

    private static final String SEP = "__";

    private final BaseModel model;
    private final Trainable trainable;
    private final Map<String, Adapter> adapters;
    private final SameDiff sd = SameDiff.create();
    private final List<String> gradNames = new ArrayList<>();

    public AutodiffGraph(BaseModel model, Map<String, Adapter> adapters, Trainable trainable) {
        this.model = model;
        this.trainable = trainable;
        this.adapters = new LinkedHashMap<>(adapters);
        if (trainable == Trainable.BASE && !adapters.isEmpty()) {
            throw new IllegalArgumentException("full fine-tuning trains the base itself; pass no adapters");
        }
        build();
    }

    /**
     * The live variables trained in BASE mode (layer__W in graph layout, layer__b): an optimizer
     * steps these arrays in place.
     */
    public Map<String, INDArray> baseVariables() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (String l : model.slots().keySet()) {
            out.put(l + SEP + "baseW", sd.getVariable(l + SEP + "baseW").getArr());
            out.put(l + SEP + "baseb", sd.getVariable(l + SEP + "baseb").getArr());
        }
        return out;
    }

    /** The current base weights in model layout (BASE mode: the fine-tuned ones). */
    public BaseModel currentModel(String name) {
        Map<String, INDArray> w = new LinkedHashMap<>();
        Map<String, INDArray> b = new LinkedHashMap<>();
        for (Map.Entry<String, LayerSpec> e : model.slots().entrySet()) {
            INDArray gw = sd.getVariable(e.getKey() + SEP + "baseW").getArr();
            w.put(e.getKey(), e.getValue() instanceof LayerSpec.Conv2d ? GraphLayout.kernelFromGraph(gw) : gw.dup());
            b.put(e.getKey(), sd.getVariable(e.getKey() + SEP + "baseb").getArr().dup());
        }
        return model.withWeights(name, w, b);
    }

    public Gradients gradients(INDArray input, INDArray oneHot) {
        pushAdapterParameters();
        Map<String, INDArray> feed = Map.of("input", input, "labels", oneHot);
        OutAndGrad og = sd.calculateGradientsAndOutputs(feed, List.of("loss", "logits"), gradNames);
        Map<String, INDArray> grads = og.getGradients();
        Map<String, INDArray> params = new LinkedHashMap<>();
        Map<String, INDArray> hidden = new LinkedHashMap<>();
        if (trainable == Trainable.ADAPTERS) {
            for (Adapter a : adapters.values()) {
                Map<String, INDArray> named = new LinkedHashMap<>();
                for (String p : a.paramViews().keySet()) {
                    named.put(p, GraphLayout.fromGraph(a, p, grads.get(a.layer() + SEP + p)));
                }
                params.put(a.layer(), a.flatten(named));
                hidden.put(a.layer(), grads.get(a.layer() + SEP + "h"));
            }
        } else {
            for (String l : model.slots().keySet()) {
                params.put(l + SEP + "baseW", grads.get(l + SEP + "baseW"));
                params.put(l + SEP + "baseb", grads.get(l + SEP + "baseb"));
            }
        }
        return new Gradients(og.getOutputs().get("loss").getDouble(0), og.getOutputs().get("logits"), params, hidden);
    }

    public INDArray logits(INDArray input) {
        pushAdapterParameters();
        return sd.output(Map.of("input", input), "logits").get("logits");
    }

    private void pushAdapterParameters() {
        for (Adapter a : adapters.values()) {
            for (Map.Entry<String, INDArray> p : a.paramViews().entrySet()) {
                sd.getVariable(a.layer() + SEP + p.getKey()).setArray(GraphLayout.toGraph(a, p.getKey(), p.getValue()));
            }
        }
    }

    private void build() {
        List<long[]> shapes = ShapeTrace.trace(model);
        long[] in = shapes.get(0);
        long[] ph = new long[in.length + 1];
        ph[0] = -1;
        System.arraycopy(in, 0, ph, 1, in.length);
        SDVariable x = sd.placeHolder("input", DataType.FLOAT, ph);
        SDVariable labels = sd.placeHolder("labels", DataType.FLOAT, -1, model.classes());
        List<LayerSpec> layers = model.layers();
        for (int i = 0; i < layers.size(); i++) {
            LayerSpec l = layers.get(i);
            if (l.name() != null) {
                String name = l.name();
                INDArray w0 = model.weight(name);
                INDArray gw = l instanceof LayerSpec.Conv2d ? GraphLayout.kernelToGraph(w0) : w0.dup();
                SDVariable w;
                SDVariable b;
                if (trainable == Trainable.BASE) {
                    w = sd.var(name + SEP + "baseW", gw);
                    b = sd.var(name + SEP + "baseb", model.bias(name).dup());
                    gradNames.add(name + SEP + "baseW");
                    gradNames.add(name + SEP + "baseb");
                } else {
                    w = sd.constant(name + SEP + "baseW", gw);
                    b = sd.constant(name + SEP + "baseb", model.bias(name));
                }
                SDVariable h = l instanceof LayerSpec.Conv2d c ? GraphOps.conv(sd, x, w, b, c.geometry()) : GraphOps.dense(x, w, b);
                Adapter a = adapters.get(name);
                if (a != null) {
                    Map<String, SDVariable> p = new LinkedHashMap<>();
                    for (Map.Entry<String, INDArray> pv : a.paramViews().entrySet()) {
                        p.put(pv.getKey(), sd.var(name + SEP + pv.getKey(), GraphLayout.toGraph(a, pv.getKey(), pv.getValue())));
                        gradNames.add(name + SEP + pv.getKey());
                    }
                    h = sd.identity(name + SEP + "h", h.add(GraphOps.adapterForward(sd, x, a.spec(), p)));
                    gradNames.add(name + SEP + "h");
                }
                x = h;
            } else {
                x = GraphOps.parameterFree(sd, l, x, shapes.get(i + 1));
            }
        }
        sd.identity("logits", x);
        SDVariable loss = GraphOps.crossEntropy(sd, x, labels).mean();
        sd.identity("loss", loss);
        sd.setLossVariables("loss");
        for (String a : adapters.keySet()) {
            model.slot(a);
        }
    }
}
