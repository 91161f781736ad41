package org.colaedge.common.learning;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.learning.regularization.Regularization.ApplyStep;
import org.nd4j.linalg.schedule.ISchedule;

/**
 * One optimizer over a fixed set of named parameter arrays, built from DL4J's updaters: clip the
 * joint gradient norm; L2 penalty (before the updater); the updater (Sgd / Nesterovs / Adam) turns
 * each gradient into an update; decoupled weight decay (after it, AdamW); w -= update.
 *
 * <p>Used by the devices' {@link GradientLearner} for adapters and by the server-side baselines
 * (PEFT_SERVER, FULL) for whatever they train, so every trainer steps the same way.
 * Not thread-safe.
 */
public final class ParameterOptimizer {

    private final OptimizerConfig config;
    private final ISchedule learningRate;
    private final List<Regularization> regularizations;
    private final Map<String, GradientUpdater<?>> updaters = new LinkedHashMap<>();
    private final Map<String, INDArray> state = new LinkedHashMap<>();
    private int iteration;
    private int epoch;

    /** @param sizes number of elements of each named parameter */
    public ParameterOptimizer(OptimizerConfig config, Map<String, Long> sizes) {
        this.config = config;
        this.learningRate = config.schedule().toSchedule(config.learningRate());
        this.regularizations = config.toRegularizations();
        for (Map.Entry<String, Long> e : sizes.entrySet()) {
            IUpdater u = config.toUpdater();
            long stateSize = u.stateSize(e.getValue());
            INDArray s = stateSize == 0 ? null : Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, 1, stateSize);
            updaters.put(e.getKey(), u.instantiate(s, true));
            state.put(e.getKey(), s);
        }
    }

    public OptimizerConfig config() {
        return config;
    }

    /** Optimizer steps taken so far. */
    public int iteration() {
        return iteration;
    }

    public void setIteration(int iteration) {
        this.iteration = iteration;
    }

    public void setEpoch(int epoch) {
        this.epoch = epoch;
    }

    /** The learning rate the next step will use. */
    public double currentLearningRate() {
        return learningRate.valueAt(iteration, epoch);
    }

    /** The updater state of one parameter (null for stateless SGD); live, for checkpoints. */
    public INDArray state(String name) {
        if (!updaters.containsKey(name)) {
            throw new IllegalArgumentException("no parameter '" + name + "'; known: " + updaters.keySet());
        }
        return state.get(name);
    }

    /**
     * One step. {@code params} are updated in place; {@code grads} (same shapes) are consumed
     * (overwritten with the updates). Both maps must name exactly this optimizer's parameters.
     */
    public void step(Map<String, INDArray> params, Map<String, INDArray> grads) {
        if (!grads.keySet().equals(updaters.keySet()) || !params.keySet().containsAll(grads.keySet())) {
            throw new IllegalArgumentException("optimizer parameters are " + updaters.keySet() + ", got gradients for "
                    + grads.keySet() + " and parameters " + params.keySet());
        }
        clip(grads.values(), config.clipNorm());
        double lr = learningRate.valueAt(iteration, epoch);
        for (Map.Entry<String, INDArray> e : grads.entrySet()) {
            INDArray w = params.get(e.getKey());
            if (w.length() != e.getValue().length()) {
                throw new IllegalArgumentException("parameter '" + e.getKey() + "' has " + w.length()
                        + " elements, its gradient " + e.getValue().length());
            }
            INDArray flatW = w.reshape(1, w.length());
            INDArray g = e.getValue().reshape(1, w.length());
            for (Regularization r : regularizations) {
                if (r.applyStep() == ApplyStep.BEFORE_UPDATER) {
                    r.apply(flatW, g, lr, iteration, epoch);
                }
            }
            updaters.get(e.getKey()).applyUpdater(g, iteration, epoch);
            for (Regularization r : regularizations) {
                if (r.applyStep() == ApplyStep.POST_UPDATER) {
                    r.apply(flatW, g, lr, iteration, epoch);
                }
            }
            w.subi(g.reshape(w.shape()));
        }
        iteration++;
    }

    /** Scales all gradients in place so that their joint L2 norm is at most maxNorm (0: no clipping); returns the norm before. */
    public static double clip(Collection<INDArray> grads, double maxNorm) {
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
}
