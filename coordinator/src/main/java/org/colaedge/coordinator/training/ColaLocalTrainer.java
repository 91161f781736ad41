package org.colaedge.coordinator.training;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.learning.GradientLearner;
import org.colaedge.common.learning.Merging;
import org.colaedge.common.learning.OptimizerConfig;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.model.HiddenGradientEngine;
import org.colaedge.coordinator.model.HiddenGradientEngine.Segment;
import org.colaedge.coordinator.model.HiddenGradientEngine.StepResult;
import org.colaedge.coordinator.model.ModelView;
import org.colaedge.coordinator.model.SlotView;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * COLA_LOCAL: ColA with the device work done in-process. The coordinator side
 * ({@link HiddenGradientEngine}) computes hidden gradients for all users in one forward/backward;
 * one {@link GradientLearner} per user plays that user's device. The coordinator computes with the
 * adapter version it last received: a copy of the device's adapters (unmerged), W + alpha dW
 * (merged), or in COL mode W + alpha * (sample-weighted mean of the users' dW), so with interval
 * I it runs up to I steps on a stale version, exactly as the distributed system does.
 */
public final class ColaLocalTrainer implements Trainer {

    private final BaseModel model;
    private final Mode mode;
    private final boolean merged;
    private final HiddenGradientEngine engine;
    private final List<GradientLearner> devices = new ArrayList<>();
    private final List<Map<String, Adapter>> coordinatorCopies = new ArrayList<>();
    private final List<ModelView> views = new ArrayList<>();
    private final long[] samplesSeen;
    private ModelView shared;

    public ColaLocalTrainer(BaseModel model, AdapterPlan plan, int users, Mode mode, boolean merged, int interval,
                            OptimizerConfig optimizer, long seed) {
        if (mode == Mode.COL && !plan.mergeable()) {
            throw new IllegalArgumentException("collaboration merges the mean dW into the shared model; " + plan.kind() + " adapters cannot be merged");
        }
        if (merged && !plan.mergeable()) {
            throw new IllegalArgumentException(plan.kind() + " adapters cannot be merged; use unmerged mode");
        }
        this.model = model;
        this.mode = mode;
        this.merged = merged || mode == Mode.COL;
        this.engine = new HiddenGradientEngine(model);
        this.samplesSeen = new long[users];
        for (int u = 0; u < users; u++) {
            Map<String, Adapter> device = plan.create(model, seed + u);
            devices.add(new GradientLearner(new ArrayList<>(device.values()), optimizer, interval));
            Map<String, Adapter> copy = new LinkedHashMap<>();
            device.forEach((k, v) -> copy.put(k, v.copy()));
            coordinatorCopies.add(copy);
            views.add(viewOf("user" + u, copy));
        }
        if (mode == Mode.COL) {
            shared = collaborationView();
        }
    }

    @Override
    public TrainerKind kind() {
        return TrainerKind.COLA_LOCAL;
    }

    @Override
    public double step(Batch batch) {
        List<Segment> segments = new ArrayList<>();
        for (UserRows ur : batch.users()) {
            segments.add(new Segment(ur.rows(), mode == Mode.COL ? shared : views.get(ur.user())));
        }
        StepResult r = engine.compute(batch.input(), batch.oneHot(), segments);
        boolean anyUpdate = false;
        double loss = 0;
        for (int i = 0; i < batch.users().size(); i++) {
            int u = batch.users().get(i).user();
            samplesSeen[u] += batch.users().get(i).rows();
            loss += r.segments().get(i).loss();
            if (devices.get(u).accept(r.segments().get(i).hidden())) {
                publish(u);
                anyUpdate = true;
            }
        }
        if (anyUpdate && mode == Mode.COL) {
            shared = collaborationView();
        }
        return loss / batch.users().size();
    }

    @Override
    public void finish() {
        boolean any = false;
        for (int u = 0; u < devices.size(); u++) {
            if (devices.get(u).flush()) {
                publish(u);
                any = true;
            }
        }
        if (any && mode == Mode.COL) {
            shared = collaborationView();
        }
    }

    /** The adapter update reaching the coordinator: a copy of the device's new parameters. */
    private void publish(int u) {
        Map<String, Adapter> copy = coordinatorCopies.get(u);
        devices.get(u).adapters().forEach((k, v) -> copy.get(k).setParams(v.params()));
        views.set(u, viewOf("user" + u, copy));
    }

    private ModelView viewOf(String id, Map<String, Adapter> adapters) {
        Map<String, SlotView> slots = new LinkedHashMap<>();
        for (Map.Entry<String, Adapter> e : adapters.entrySet()) {
            Adapter a = e.getValue();
            slots.put(e.getKey(), merged ? mergedSlot(e.getKey(), a.deltaWeight(), a.deltaBias(), a.spec().scaling())
                    : new SlotView.Unmerged(a));
        }
        return new ModelView(id, slots);
    }

    private SlotView.Merged mergedSlot(String layer, INDArray dW, INDArray dB, float scaling) {
        INDArray b = dB == null ? model.bias(layer) : model.bias(layer).add(dB.mul(scaling));
        return new SlotView.Merged(Merging.merge(model.weight(layer), dW, scaling), b);
    }

    /** W + alpha * sum_u (n_u / N) dW_u: the sample-weighted mean of the users' deltas. */
    private ModelView collaborationView() {
        double[] weights = new double[devices.size()];
        boolean none = true;
        for (int u = 0; u < weights.length; u++) {
            weights[u] = samplesSeen[u];
            none &= samplesSeen[u] == 0;
        }
        if (none) {
            java.util.Arrays.fill(weights, 1.0);
        }
        Map<String, SlotView> slots = new LinkedHashMap<>();
        for (String layer : coordinatorCopies.get(0).keySet()) {
            List<INDArray> dWs = new ArrayList<>();
            List<INDArray> dBs = new ArrayList<>();
            for (Map<String, Adapter> c : coordinatorCopies) {
                dWs.add(c.get(layer).deltaWeight());
                INDArray db = c.get(layer).deltaBias();
                if (db != null) {
                    dBs.add(db);
                }
            }
            Adapter any = coordinatorCopies.get(0).get(layer);
            INDArray meanB = dBs.isEmpty() ? null : Merging.weightedMean(dBs, weights);
            slots.put(layer, mergedSlot(layer, Merging.weightedMean(dWs, weights), meanB, any.spec().scaling()));
        }
        return new ModelView("group", slots);
    }

    @Override
    public INDArray logits(INDArray input, int user) {
        return engine.logits(input, mode == Mode.COL ? shared : views.get(user));
    }

    @Override
    public int evaluatedModels() {
        return mode == Mode.COL ? 1 : devices.size();
    }

    @Override
    public void startEpoch(int epoch) {
        devices.forEach(d -> d.setEpoch(epoch));
    }

    @Override
    public long trainableParameters() {
        return devices.get(0).adapters().values().stream().mapToLong(Adapter::numParams).sum();
    }

    public GradientLearner device(int user) {
        return devices.get(user);
    }
}
