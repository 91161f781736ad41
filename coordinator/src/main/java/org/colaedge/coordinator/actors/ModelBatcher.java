package org.colaedge.coordinator.actors;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.colaedge.coordinator.model.HiddenGradientEngine;
import org.colaedge.coordinator.model.ModelView;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Dynamic batching for one base model on one coordinator node: the compute requests of all jobs
 * (each with its own adapter view) are gathered for at most {@code maxWait} or until
 * {@code maxRows} rows, and computed in ONE forward/backward pass of the
 * {@link HiddenGradientEngine} (one segment per request), on the compute dispatcher. Each job gets
 * back its own segment's result. One pass at a time; requests arriving meanwhile form the next.
 * With {@code maxWait} zero an idle batcher starts at once and batching comes only from requests
 * that arrive during a pass (continuous batching: no added latency at low load).
 */
public final class ModelBatcher extends AbstractBehavior<ModelBatcher.Command> {

    public sealed interface Command extends NoSerializationVerificationNeeded { }

    /** Compute hidden gradients of {@code input} with {@code view}; the answer carries {@code token} back. */
    public record Compute(INDArray input, INDArray oneHot, ModelView view, Object token, ActorRef<Computed> replyTo) implements Command { }

    /** The answer: the request's own segment, or the failure. */
    public record Computed(Object token, HiddenGradientEngine.SegmentResult result, Throwable error) implements NoSerializationVerificationNeeded { }

    /** Counters, for tests and monitoring. */
    public record GetStats(ActorRef<Stats> replyTo) implements Command { }

    public record Stats(long passes, long requests, int maxSegmentsInOnePass) implements NoSerializationVerificationNeeded { }

    private enum Flush implements Command { INSTANCE }

    private record PassDone(List<Compute> requests, HiddenGradientEngine.StepResult result, Throwable error) implements Command { }

    private final String model;
    private final ComputePool pool;
    private final int maxRows;
    private final int segmentLimit;
    private final Duration maxWait;
    private final TimerScheduler<Command> timers;
    private final ArrayDeque<Compute> queue = new ArrayDeque<>();
    private long queuedRows;
    private boolean busy;
    private long passes;
    private long requests;
    private int maxSegments;

    /** @param maxSegments at most this many requests in one pass (each distinct count of segments is one compiled graph) */
    public static Behavior<Command> create(String model, ComputePool pool, int maxRows, int maxSegments, Duration maxWait) {
        if (maxRows < 1 || maxSegments < 1 || maxWait.isNegative()) {
            throw new IllegalArgumentException("batching needs max-rows >= 1, max-segments >= 1 and max-wait >= 0; got "
                    + maxRows + ", " + maxSegments + ", " + maxWait);
        }
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new ModelBatcher(ctx, timers, model, pool, maxRows, maxSegments, maxWait)));
    }

    private ModelBatcher(ActorContext<Command> context, TimerScheduler<Command> timers, String model, ComputePool pool, int maxRows,
                         int maxSegments, Duration maxWait) {
        super(context);
        this.segmentLimit = maxSegments;
        this.timers = timers;
        this.model = model;
        this.pool = pool;
        this.maxRows = maxRows;
        this.maxWait = maxWait;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(Compute.class, this::onCompute)
                .onMessageEquals(Flush.INSTANCE, this::onFlush)
                .onMessage(PassDone.class, this::onPassDone)
                .onMessage(GetStats.class, this::onGetStats)
                .build();
    }

    private Behavior<Command> onCompute(Compute c) {
        queue.add(c);
        queuedRows += c.input().size(0);
        requests++;
        if (!busy) {
            if (queuedRows >= maxRows || queue.size() >= segmentLimit || maxWait.isZero()) {
                startPass();
            } else if (!timers.isTimerActive(Flush.INSTANCE)) {
                timers.startSingleTimer(Flush.INSTANCE, maxWait);
            }
        }
        return this;
    }

    private Behavior<Command> onFlush() {
        if (!busy && !queue.isEmpty()) {
            startPass();
        }
        return this;
    }

    private void startPass() {
        timers.cancel(Flush.INSTANCE);
        List<Compute> take = new ArrayList<>();
        long rows = 0;
        while (!queue.isEmpty() && (take.isEmpty() || rows + queue.peek().input().size(0) <= maxRows && take.size() < segmentLimit)) {
            Compute c = queue.poll();
            rows += c.input().size(0);
            take.add(c);
        }
        queuedRows -= rows;
        busy = true;
        passes++;
        maxSegments = Math.max(maxSegments, take.size());
        INDArray input = take.size() == 1 ? take.get(0).input() : Nd4j.concat(0, take.stream().map(Compute::input).toArray(INDArray[]::new));
        INDArray oneHot = take.size() == 1 ? take.get(0).oneHot() : Nd4j.concat(0, take.stream().map(Compute::oneHot).toArray(INDArray[]::new));
        List<HiddenGradientEngine.Segment> segments = take.stream()
                .map(c -> new HiddenGradientEngine.Segment((int) c.input().size(0), c.view())).toList();
        getContext().pipeToSelf(pool.compute(model, input, oneHot, segments), (r, e) -> new PassDone(take, r, e));
    }

    private Behavior<Command> onPassDone(PassDone d) {
        busy = false;
        Throwable error = d.error() instanceof java.util.concurrent.CompletionException && d.error().getCause() != null
                ? d.error().getCause() : d.error();
        for (int i = 0; i < d.requests().size(); i++) {
            Compute c = d.requests().get(i);
            c.replyTo().tell(error == null ? new Computed(c.token(), d.result().segments().get(i), null) : new Computed(c.token(), null, error));
        }
        if (!queue.isEmpty()) {
            startPass(); // what arrived during the pass has waited long enough
        }
        return this;
    }

    private Behavior<Command> onGetStats(GetStats g) {
        g.replyTo().tell(new Stats(passes, requests, maxSegments));
        return this;
    }
}
