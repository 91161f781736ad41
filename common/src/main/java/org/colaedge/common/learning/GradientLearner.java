package org.colaedge.common.learning;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.colaedge.common.NdArrays;
import org.colaedge.common.adapter.Adapter;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The device side of ColA: owns a set of adapters (one per adapted layer of a job) and their
 * optimizer state, and fits them by gradient learning from the (x_m, delta_m) the coordinator
 * sends.
 *
 * <p>Interval I: {@link #accept} buffers one step's hidden gradients; once I steps are buffered
 * it fits once on their concatenation (the summed gradient-learning loss, as the reference
 * implementation does) and bumps {@link #version()}. I = 1 is plain ColA.
 *
 * <p>One optimizer step: g = J^T delta per adapter, then {@link ParameterOptimizer} (global-norm
 * clipping over all adapters, L2, the DL4J updater, decoupled weight decay).
 *
 * <p>Not thread-safe: owned by one device actor.
 */
public final class GradientLearner {

    private final Map<String, Adapter> adapters;
    private final Map<String, INDArray> paramViews = new LinkedHashMap<>();
    private final ParameterOptimizer optimizer;
    private final int interval;
    private final Map<String, List<HiddenGradient>> buffer = new LinkedHashMap<>();

    private int bufferedSteps;
    private long version;

    public GradientLearner(List<Adapter> adapters, OptimizerConfig config, int interval) {
        if (interval < 1) {
            throw new IllegalArgumentException("interval I must be >= 1, was " + interval);
        }
        if (adapters.isEmpty()) {
            throw new IllegalArgumentException("a gradient learner needs at least one adapter");
        }
        LinkedHashMap<String, Adapter> byLayer = new LinkedHashMap<>();
        Map<String, Long> sizes = new LinkedHashMap<>();
        for (Adapter a : adapters) {
            if (byLayer.put(a.layer(), a) != null) {
                throw new IllegalArgumentException("two adapters for layer " + a.layer());
            }
            sizes.put(a.layer(), a.numParams());
            paramViews.put(a.layer(), a.params());
            buffer.put(a.layer(), new ArrayList<>());
        }
        this.adapters = Collections.unmodifiableMap(byLayer);
        this.optimizer = new ParameterOptimizer(config, sizes);
        this.interval = interval;
    }

    public Map<String, Adapter> adapters() {
        return adapters;
    }

    public Adapter adapter(String layer) {
        Adapter a = adapters.get(layer);
        if (a == null) {
            throw new IllegalArgumentException("no adapter for layer " + layer + "; adapted layers are " + adapters.keySet());
        }
        return a;
    }

    public int interval() {
        return interval;
    }

    /** Number of optimizer steps taken so far; also the adapter version. */
    public long version() {
        return version;
    }

    public int bufferedSteps() {
        return bufferedSteps;
    }

    public void setEpoch(int epoch) {
        optimizer.setEpoch(epoch);
    }

    /** The updater's state vector for one layer (null for stateless SGD); live. */
    public INDArray updaterState(String layer) {
        adapter(layer);
        return optimizer.state(layer);
    }

    /** Restores the step counters of a checkpoint (parameters and updater state are set through their views). */
    public void restoreCounters(long version, int iteration) {
        this.version = version;
        optimizer.setIteration(iteration);
        buffer.values().forEach(List::clear);
        bufferedSteps = 0;
    }

    public int iteration() {
        return optimizer.iteration();
    }

    /**
     * Buffers the hidden gradients of one step (every adapted layer must be present). Validates
     * everything before buffering anything, so a bad step leaves the learner unchanged.
     *
     * @return true if this step completed an interval and the adapters were updated
     */
    public boolean accept(Map<String, HiddenGradient> step) {
        if (!step.keySet().equals(adapters.keySet())) {
            throw new IllegalArgumentException("step must carry hidden gradients for exactly the adapted layers "
                    + adapters.keySet() + ", got " + step.keySet());
        }
        for (Map.Entry<String, HiddenGradient> e : step.entrySet()) {
            HiddenGradient hg = e.getValue();
            adapters.get(e.getKey()).validate(hg.input(), hg.gradient());
            requireFinite(e.getKey(), "input x", hg.input());
            requireFinite(e.getKey(), "hidden gradient delta", hg.gradient());
        }
        for (Map.Entry<String, HiddenGradient> e : step.entrySet()) {
            buffer.get(e.getKey()).add(e.getValue());
        }
        bufferedSteps++;
        if (bufferedSteps < interval) {
            return false;
        }
        fitBuffered();
        return true;
    }

    /** Fits on whatever is buffered (e.g. at the end of training with a partial interval). */
    public boolean flush() {
        if (bufferedSteps == 0) {
            return false;
        }
        fitBuffered();
        return true;
    }

    private void fitBuffered() {
        Map<String, INDArray> grads = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, Adapter> e : adapters.entrySet()) {
                List<HiddenGradient> steps = buffer.get(e.getKey());
                INDArray x = concat(steps, true);
                INDArray delta = concat(steps, false);
                grads.put(e.getKey(), e.getValue().gradient(x, delta));
            }
        } finally {
            buffer.values().forEach(List::clear);
            bufferedSteps = 0;
        }
        optimizer.step(paramViews, grads);
        version++;
    }

    private static INDArray concat(List<HiddenGradient> steps, boolean inputs) {
        if (steps.size() == 1) {
            return inputs ? steps.get(0).input() : steps.get(0).gradient();
        }
        INDArray[] parts = steps.stream().map(s -> inputs ? s.input() : s.gradient()).toArray(INDArray[]::new);
        return Nd4j.concat(0, parts);
    }

    private static void requireFinite(String layer, String what, INDArray a) {
        if (!NdArrays.allFinite(a)) {
            throw new IllegalArgumentException("layer " + layer + ": " + what + " contains NaN or Inf");
        }
    }
}
