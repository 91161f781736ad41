package org.colaedge.sim;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.data.ImageDataset;
import org.colaedge.common.learning.Merging;
import org.colaedge.common.wire.WireMapping;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.model.HiddenGradientEngine;
import org.colaedge.coordinator.model.ModelView;
import org.colaedge.coordinator.model.SlotView;
import org.colaedge.coordinator.training.TrainingLoop;
import org.colaedge.proto.v1.AdapterUpdate;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Test accuracy of the models the coordinator serves, built from what it holds (the adapters in a
 * {@code JobStatus}): a job's own adapters (merged into W when mergeable), or a group's shared
 * W + alpha mean dW. Pure: no actors; one engine, used from one thread.
 */
public final class Evaluator {

    private final BaseModel base;
    private final ImageDataset test;
    private final WireMapping wire;
    private final HiddenGradientEngine engine;

    public Evaluator(BaseModel base, ImageDataset test, WireMapping wire) {
        this.base = base;
        this.test = test;
        this.wire = wire;
        this.engine = new HiddenGradientEngine(base);
    }

    /** A job's model from its adapters' parameters ({@code template}: the job's adapters as created, for their specs). */
    public ModelView jobView(String id, Map<String, Adapter> template, List<AdapterUpdate> parameters) {
        Map<String, SlotView> slots = new LinkedHashMap<>();
        Map<String, AdapterUpdate> byLayer = new LinkedHashMap<>();
        parameters.forEach(u -> byLayer.put(u.getLayer(), u));
        for (Map.Entry<String, Adapter> e : template.entrySet()) {
            Adapter a = e.getValue().copy();
            AdapterUpdate u = byLayer.get(e.getKey());
            if (u == null) {
                throw new IllegalStateException(id + " sent no adapter for layer " + e.getKey());
            }
            wire.decodeParameters(a, u.getParameters()).forEach(a::setParam);
            if (a.mergeable()) {
                slots.put(e.getKey(), merged(e.getKey(), a.deltaWeight(), a.deltaBias(), a.spec().scaling()));
            } else {
                slots.put(e.getKey(), new SlotView.Unmerged(a));
            }
        }
        return new ModelView(id, slots);
    }

    /** A group's shared model from its merged-delta updates (none yet: the base). */
    public ModelView groupView(String id, Map<String, Adapter> template, List<AdapterUpdate> deltas) {
        Map<String, SlotView> slots = new LinkedHashMap<>();
        for (AdapterUpdate u : deltas) {
            Adapter a = template.get(u.getLayer());
            if (a == null) {
                throw new IllegalStateException(id + " sent a delta for unknown layer " + u.getLayer());
            }
            INDArray dW = wire.decodeFinite(u.getMergedDelta(), "group delta of " + u.getLayer());
            INDArray dB = u.hasMergedBiasDelta() ? wire.decodeFinite(u.getMergedBiasDelta(), "group bias delta of " + u.getLayer()) : null;
            slots.put(u.getLayer(), merged(u.getLayer(), dW, dB, a.spec().scaling()));
        }
        return new ModelView(id, slots);
    }

    private SlotView.Merged merged(String layer, INDArray dW, INDArray dB, float scaling) {
        INDArray b = dB == null ? base.bias(layer) : base.bias(layer).add(dB.mul(scaling));
        return new SlotView.Merged(Merging.merge(base.weight(layer), dW, scaling), b);
    }

    /** Accuracy of {@code view} on the whole test split. */
    public double accuracy(ModelView view) {
        return TrainingLoop.accuracy(test, base.inputShape(), List.of(x -> engine.logits(x, view)))[0];
    }
}
