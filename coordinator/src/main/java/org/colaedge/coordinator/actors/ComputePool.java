package org.colaedge.coordinator.actors;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.model.HiddenGradientEngine;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Runs hidden-gradient computations on the coordinator's dedicated compute dispatcher, with one
 * {@link HiddenGradientEngine} per (thread, base model): engines are not thread-safe, and DL4J
 * confines a model to one thread. Results come back as CompletionStages for {@code pipeToSelf}.
 */
public final class ComputePool {

    public static final String DISPATCHER = "colaedge.coordinator.compute-dispatcher";

    private final Executor executor;
    private final Map<String, BaseModel> models;
    private final ThreadLocal<Map<String, HiddenGradientEngine>> engines = ThreadLocal.withInitial(ConcurrentHashMap::new);
    /** The latest shared model of each collaboration group on this node, with its version. */
    private final Map<String, VersionedView> groupViews = new ConcurrentHashMap<>();

    private record VersionedView(long version, org.colaedge.coordinator.model.ModelView view) { }

    public ComputePool(ActorSystem<?> system, Map<String, BaseModel> models) {
        this.executor = system.dispatchers().lookup(DispatcherSelector.fromConfig(DISPATCHER));
        this.models = Map.copyOf(models);
    }

    public BaseModel model(String name) {
        BaseModel m = models.get(name);
        if (m == null) {
            throw new IllegalArgumentException("this coordinator serves no base model '" + name + "'; it serves " + models.keySet());
        }
        return m;
    }

    /**
     * The shared model of {@code group} at {@code version}, built once per node and version: the
     * jobs of a group then hand the batcher the same view object, so one pass computes all their
     * rows with one set of weights (one matmul per layer instead of one per job). Only the newest
     * version is kept; a job asking for an older one gets its own copy.
     */
    public org.colaedge.coordinator.model.ModelView groupView(String group, long version,
                                                            java.util.function.Supplier<org.colaedge.coordinator.model.ModelView> build) {
        VersionedView v = groupViews.compute(group, (k, old) -> old != null && old.version() >= version ? old : new VersionedView(version, build.get()));
        return v.version() == version ? v.view() : build.get();
    }

    public CompletionStage<HiddenGradientEngine.StepResult> compute(String model, INDArray input, INDArray oneHot,
                                                                   List<HiddenGradientEngine.Segment> segments) {
        BaseModel m = model(model);
        return CompletableFuture.supplyAsync(
                () -> engines.get().computeIfAbsent(model, k -> new HiddenGradientEngine(m)).compute(input, oneHot, segments), executor);
    }
}
