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
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.Regularization.ApplyStep;
import org.nd4j.linalg.schedule.ISchedule;

/**
 * The device side of ColA: owns a set of adapters (one per adapted layer of a job) and their
 * optimizer state, and fits them by gradient learning from the (x_m, delta_m) the coordinator
 * sends.
 *
 * <p>Interval I: {@link #accept} buffers one step's hidden gradients; once I steps are buffered
 * it fits once on their concatenation (the summed gradient-learning loss, as the reference
 * implementation does) and bumps {@link #version()}. I = 1 is plain ColA.
 *
 * <p>One optimizer step: g = J^T delta per adapter; clip by the global norm over all adapters;
 * L2 penalty (before the updater); the DL4J updater (Sgd / Nesterovs / Adam) turns g into an
 * update; decoupled weight decay (after the updater, AdamW); w -= update.
 *
 * <p>Not thread-safe: owned by one device actor.
 */
public final class GradientLearner {

    private final Map<String, Adapter> adapters;
    private final Map<String, GradientUpdater<?>> updaters = new LinkedHashMap<>();
    private final Map<String, INDArray> updaterState = new LinkedHashMap<>();
    private final List<Regularization> regularizations;
    private final OptimizerConfig config;
    private final ISchedule learningRate;
    private final int interval;
    private final Map<String, List<HiddenGradient>> buffer = new LinkedHashMap<>();

    private int bufferedSteps;
    private int iteration;
    private int epoch;
    private long version;

    public GradientLearner(List<Adapter> adapters, OptimizerConfig config, int interval) {
        if (interval < 1) {
            throw new IllegalArgumentException("interval I must be >= 1, was " + interval);
        }
        if (adapters.isEmpty()) {
            throw new IllegalArgumentException("a gradient learner needs at least one adapter");
        }
        LinkedHashMap<String, Adapter> byLayer = new LinkedHashMap<>();
        for (Adapter a : adapters) {
            if (byLayer.put(a.layer(), a) != null) {
                throw new IllegalArgumentException("two adapters for layer " + a.layer());
            }
            IUpdater u = config.toUpdater();
            long stateSize = u.stateSize(a.numParams());
            INDArray state = stateSize == 0 ? null : Nd4j.zeros(a.params().dataType(), 1, stateSize);
            updaters.put(a.layer(), u.instantiate(state, true));
            updaterState.put(a.layer(), state);
            buffer.put(a.layer(), new ArrayList<>());
        }
        this.adapters = Collections.unmodifiableMap(byLayer);
        this.regularizations = config.toRegularizations();
        this.config = config;
        this.learningRate = config.schedule().toSchedule(config.learningRate());
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
        this.epoch = epoch;
    }

    /** The updater's state vector for one layer (null for stateless SGD); live. */
    public INDArray updaterState(String layer) {
        adapter(layer);
        return updaterState.get(layer);
    }

    /** Restores the step counters of a checkpoint (parameters and updater state are set through their views). */
    public void restoreCounters(long version, int iteration) {
        this.version = version;
        this.iteration = iteration;
        buffer.values().forEach(List::clear);
        bufferedSteps = 0;
    }

    public int iteration() {
        return iteration;
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
        applyStep(grads);
    }

    /**
     * One optimizer step from explicit parameter gradients (flat layout per layer). Public so
     * that a back-propagation baseline can drive the very same optimizer.
     */
    public void applyStep(Map<String, INDArray> grads) {
        clip(grads.values(), config.clipNorm());
        double lr = learningRate.valueAt(iteration, epoch);
        for (Map.Entry<String, INDArray> e : grads.entrySet()) {
            Adapter a = adapter(e.getKey());
            INDArray g = e.getValue();
            INDArray w = a.params();
            for (Regularization r : regularizations) {
                if (r.applyStep() == ApplyStep.BEFORE_UPDATER) {
                    r.apply(w, g, lr, iteration, epoch);
                }
            }
            updaters.get(e.getKey()).applyUpdater(g, iteration, epoch);
            for (Regularization r : regularizations) {
                if (r.applyStep() == ApplyStep.POST_UPDATER) {
                    r.apply(w, g, lr, iteration, epoch);
                }
            }
            w.subi(g);
        }
        iteration++;
        version++;
    }

    /** Scales all gradients in place so that their joint L2 norm is at most maxNorm (0: no clipping). */
    public static double clip(Iterable<INDArray> grads, double maxNorm) {
        double sq = 0;
        for (INDArray g : grads) {
            double n = g.norm2Number().doubleValue();
            sq += n * n;
        }
        double norm = Math.sqrt(sq);
        if (maxNorm > 0 && norm > maxNorm) {
            double scale = maxNorm / (norm + 1e-6);
            for (INDArray g : grads) {
                g.muli(scale);
            }
        }
        return norm;
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
