package org.colaedge.edge;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.adapter.Adapters;
import org.colaedge.common.cluster.WireEnvelope;
import org.colaedge.common.learning.GradientLearner;
import org.colaedge.common.learning.HiddenGradient;
import org.colaedge.common.learning.OptimizerConfig;
import org.colaedge.common.metrics.ColaMetrics;
import org.colaedge.common.wire.ProtocolException;
import org.colaedge.common.wire.WireMapping;
import org.colaedge.proto.v1.AdapterUpdate;
import org.colaedge.proto.v1.Capabilities;
import org.colaedge.proto.v1.DType;
import org.colaedge.proto.v1.DeviceHello;
import org.colaedge.proto.v1.ErrorReply;
import org.colaedge.proto.v1.HiddenGradients;
import org.colaedge.proto.v1.JobSpec;
import org.colaedge.proto.v1.JobStarted;
import org.colaedge.proto.v1.TrainingBatch;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An edge device: the data owner of one job. It starts the job, submits its batches (at most I in
 * flight: the coordinator computes at most I steps ahead of the device's last update), fits its
 * adapters by gradient learning from each {@code HiddenGradients} and sends every new adapter
 * version as {@code AdapterUpdate}s (one per adapted layer). It owns the adapters and their
 * optimizer state; nothing of them is shared. Spawn it on {@link #DISPATCHER}: gradient learning
 * blocks its thread.
 */
public final class DeviceActor extends AbstractBehavior<DeviceActor.Command> {

    /** The dedicated dispatcher for device actors (colaedge.edge.learning-dispatcher). */
    public static final DispatcherSelector DISPATCHER = DispatcherSelector.fromConfig("colaedge.edge.learning-dispatcher");

    public sealed interface Command { }

    private record FromCoordinator(WireEnvelope envelope) implements Command { }

    /** Emulated link: the earliest queued message is due. */
    private enum LinkTick implements Command { INSTANCE }

    /** A message on the emulated link and when it arrives. */
    private record InTransit(long dueNanos, long seq, WireEnvelope envelope, boolean up) { }

    /**
     * Lets a paced device (one created with a {@link DeviceProfile#paced()} profile) submit steps
     * below {@code untilStep} (local use: a synchronous simulation releases one epoch at a time).
     */
    public record Release(long untilStep) implements Command, NoSerializationVerificationNeeded { }

    /** Ask for the device's state (local use: tests, monitoring). */
    public record GetState(ActorRef<State> replyTo) implements Command, NoSerializationVerificationNeeded { }

    /**
     * A snapshot: adapter version, steps answered, copies of the parameters, errors received, time
     * spent in gradient learning (emulated slowness included). {@code finished} is false when the
     * device stopped early (an emulated crash, see {@link DeviceProfile#crashAtStep()}).
     */
    public record State(String deviceId, long version, long stepsDone, boolean finished, double lastLoss, Map<String, INDArray> parameters,
                        List<String> errors, long busyMicros)
            implements NoSerializationVerificationNeeded { }

    /** One local training batch: inputs and one-hot labels. */
    public record LocalBatch(INDArray input, INDArray oneHot) { }

    private final String deviceId;
    private final RecipientRef<WireEnvelope> job;
    private final JobSpec spec;
    private final DeviceData batches;
    private final DeviceProfile profile;
    private final org.apache.pekko.actor.typed.javadsl.TimerScheduler<Command> timers;
    private final java.util.PriorityQueue<InTransit> link = new java.util.PriorityQueue<>(
            java.util.Comparator.comparingLong(InTransit::dueNanos).thenComparingLong(InTransit::seq));
    private long linkSeq;
    private long uplinkFreeAt;
    private long downlinkFreeAt;
    private long busyNanos;
    /** Steps below this may be submitted (paced devices start at 0 and wait for {@link Release}). */
    private long releasedUntil;
    private final GradientLearner learner;
    private final WireMapping wire;
    private final ActorRef<WireEnvelope> self;
    private final ActorRef<State> onFinished;
    private final List<String> errors = new ArrayList<>();
    private final List<String> layers;
    private final Path checkpoint;
    private final ColaMetrics metrics;
    private boolean awaitingStart;
    private long nextToSend;
    private long stepsDone;
    private double lastLoss = Double.NaN;
    private int inFlight;
    private boolean finished;

    public static Behavior<Command> create(String deviceId, RecipientRef<WireEnvelope> job, JobSpec spec, List<LocalBatch> batches,
                                           OptimizerConfig optimizer, WireMapping wire, ActorRef<State> onFinished) {
        return create(deviceId, job, spec, batches, optimizer, wire, onFinished, null);
    }

    /**
     * @param checkpoint local checkpoint file (null: none). If it exists the device resumes from it:
     *                   adapters, optimizer state, version and step.
     */
    public static Behavior<Command> create(String deviceId, RecipientRef<WireEnvelope> job, JobSpec spec, List<LocalBatch> batches,
                                           OptimizerConfig optimizer, WireMapping wire, ActorRef<State> onFinished, Path checkpoint) {
        return create(deviceId, job, spec, DeviceData.of(batches), optimizer, wire, onFinished, checkpoint, DeviceProfile.IDEAL);
    }

    /**
     * @param data       the device's batches, by step
     * @param onFinished told the device's state when it has answered its last step (or crashed, per {@code profile})
     * @param checkpoint local checkpoint file (null: none); if it exists the device resumes from it
     * @param profile    emulated speed, link and crash (simulations); {@link DeviceProfile#IDEAL} for a real device
     */
    public static Behavior<Command> create(String deviceId, RecipientRef<WireEnvelope> job, JobSpec spec, DeviceData data,
                                           OptimizerConfig optimizer, WireMapping wire, ActorRef<State> onFinished, Path checkpoint,
                                           DeviceProfile profile) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            try {
                return new DeviceActor(ctx, timers, deviceId, job, spec, data, optimizer, wire, onFinished, checkpoint, profile);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }));
    }

    private DeviceActor(ActorContext<Command> context, org.apache.pekko.actor.typed.javadsl.TimerScheduler<Command> timers, String deviceId,
                        RecipientRef<WireEnvelope> job, JobSpec spec, DeviceData batches, OptimizerConfig optimizer, WireMapping wire,
                        ActorRef<State> onFinished, Path checkpoint, DeviceProfile profile) throws java.io.IOException {
        super(context);
        this.timers = timers;
        this.profile = profile;
        this.deviceId = deviceId;
        this.job = job;
        this.spec = spec.toBuilder().setDeviceId(deviceId).build();
        this.batches = batches;
        this.releasedUntil = profile.paced() ? 0 : Long.MAX_VALUE;
        this.wire = wire;
        this.onFinished = onFinished;
        List<Adapter> adapters = new ArrayList<>();
        for (var p : spec.getAdaptersList()) {
            adapters.add(Adapters.create(WireMapping.fromProto(p)));
        }
        this.learner = new GradientLearner(adapters, optimizer, Math.max(1, spec.getInterval()));
        this.layers = adapters.stream().map(Adapter::layer).toList();
        this.checkpoint = checkpoint;
        this.metrics = ColaMetrics.get(context.getSystem());
        this.stepsDone = DeviceCheckpoints.restore(checkpoint, spec.getJobId(), learner);
        if (stepsDone > 0) {
            context.getLog().info("device {}: resumed job {} from {} at step {}, adapter version {}", deviceId, spec.getJobId(), checkpoint,
                    stepsDone, learner.version());
        }
        this.self = context.messageAdapter(WireEnvelope.class, FromCoordinator::new);
        send(new WireEnvelope(deviceId, DeviceHello.newBuilder().setDeviceId(deviceId).setProtocolVersion(WireMapping.PROTOCOL_VERSION)
                .setCapabilities(Capabilities.newBuilder().addDtypes(DType.FLOAT32)).build(), self));
        attach();
    }

    /** (Re-)attaches to the job: where this device stands, then its latest update again (idempotent by version). */
    private void attach() {
        send(new WireEnvelope(deviceId, spec.toBuilder().setResumeStep(stepsDone).setDeviceVersion(learner.version()).build(), self));
        if (learner.version() > 0) {
            sendUpdate(stepsDone - 1);
        }
        awaitingStart = true;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(FromCoordinator.class, this::onArrival)
                .onMessageEquals(LinkTick.INSTANCE, this::onLinkTick)
                .onMessage(GetState.class, this::onGetState)
                .onMessage(Release.class, this::onRelease)
                .build();
    }

    /** Sends to the job, over the emulated link if the profile has one (in order, after any emulated compute delay). */
    private void send(WireEnvelope e) {
        if (profile.idealLink() && link.isEmpty() && uplinkFreeAt <= System.nanoTime()) {
            job.tell(e);
            return;
        }
        long depart = Math.max(System.nanoTime(), uplinkFreeAt) + profile.transferNanos(e.payload().getSerializedSize());
        uplinkFreeAt = depart;
        enqueue(new InTransit(depart + profile.latency().toNanos(), linkSeq++, e, true));
    }

    private Behavior<Command> onArrival(FromCoordinator m) {
        if (profile.idealLink()) {
            return onWire(m);
        }
        long arrive = Math.max(System.nanoTime(), downlinkFreeAt) + profile.transferNanos(m.envelope().payload().getSerializedSize());
        downlinkFreeAt = arrive;
        enqueue(new InTransit(arrive + profile.latency().toNanos(), linkSeq++, m.envelope(), false));
        return this;
    }

    private void enqueue(InTransit t) {
        link.add(t);
        scheduleLink();
    }

    private void scheduleLink() {
        if (!link.isEmpty()) {
            long wait = Math.max(0, link.peek().dueNanos() - System.nanoTime());
            timers.startSingleTimer(LinkTick.INSTANCE, java.time.Duration.ofNanos(wait));
        }
    }

    /** Delivers every due message by arrival time (monotone per direction, so each direction stays in order). */
    private Behavior<Command> onLinkTick() {
        long now = System.nanoTime();
        Behavior<Command> next = this;
        while (!link.isEmpty() && link.peek().dueNanos() <= now && next == this) {
            InTransit t = link.poll();
            if (t.up()) {
                job.tell(t.envelope());
            } else {
                next = onWire(new FromCoordinator(t.envelope()));
            }
        }
        scheduleLink();
        return next;
    }

    private Behavior<Command> onWire(FromCoordinator m) {
        var payload = m.envelope().payload();
        if (payload instanceof ErrorReply error) {
            metrics.increment("device.errors-received." + error.getCode());
        }
        try {
            if (payload instanceof JobStarted && awaitingStart) {
                awaitingStart = false;
                nextToSend = stepsDone;
                inFlight = 0;
                if (stepsDone >= batches.steps()) {
                    finished = true; // resumed from a checkpoint of a finished run
                    if (onFinished != null) {
                        onFinished.tell(state());
                    }
                } else {
                    submit();
                }
            } else if (payload instanceof HiddenGradients hg) {
                if (!awaitingStart && hg.getStep() == stepsDone) {
                    onHiddenGradients(hg);
                    if (stepsDone == profile.crashAtStep() && !finished) {
                        return crash();
                    }
                }
            } else if (payload instanceof ErrorReply error && error.getCode() == org.colaedge.proto.v1.ErrorCode.UNKNOWN_JOB && !finished) {
                // The job's entity restarted elsewhere (its node left): re-attach; this device holds the adapters.
                getContext().getLog().info("device {}: job {} lost its state; re-attaching at step {}", deviceId, spec.getJobId(), stepsDone);
                attach();
            } else if (payload instanceof ErrorReply error) {
                errors.add(error.getCode() + ": " + error.getMessage());
                getContext().getLog().warn("device {}: coordinator refused: {} {}", deviceId, error.getCode(), error.getMessage());
                if (!awaitingStart && error.getStep() == stepsDone && inFlight > 0 && error.getCode() != org.colaedge.proto.v1.ErrorCode.OVERLOADED) {
                    // The coordinator rejected this step's batch for good (bad data): skip it, as the job did.
                    inFlight--;
                    stepsDone++;
                    afterStep(error.getStep());
                }
            }
        } catch (ProtocolException | IllegalArgumentException e) {
            errors.add(e.getMessage());
            getContext().getLog().warn("device {}: bad message from the coordinator: {}", deviceId, e.getMessage());
        }
        return this;
    }

    /** An emulated crash: stops at once; messages still on the emulated link are lost with it. */
    private Behavior<Command> crash() {
        getContext().getLog().info("device {}: emulated crash after step {}", deviceId, stepsDone);
        if (onFinished != null) {
            onFinished.tell(state());
        }
        return Behaviors.stopped();
    }

    private void onHiddenGradients(HiddenGradients hg) {
        Map<String, HiddenGradient> step = wire.decodeHiddenGradients(hg, layers);
        inFlight--;
        stepsDone++;
        lastLoss = hg.getLoss();
        metrics.increment("device.steps");
        // Checkpoint first, then send: a device killed in between resumes with the version it
        // never sent and re-sends it on re-attaching; the reverse order could leave the job a
        // version ahead of the device.
        long start = System.nanoTime();
        boolean update = learner.accept(step);
        emulateSpeed(System.nanoTime() - start);
        if (update) {
            saveCheckpoint();
            sendUpdate(hg.getStep());
        }
        afterStep(hg.getStep());
    }

    /** After a step is answered (or skipped): finish after the last one, else submit more. */
    private void afterStep(long step) {
        if (stepsDone == batches.steps()) {
            long start = System.nanoTime();
            boolean update = learner.flush();
            emulateSpeed(System.nanoTime() - start);
            if (update) {
                saveCheckpoint();
                sendUpdate(step);
            }
            finished = true;
            if (onFinished != null) {
                onFinished.tell(state());
            }
        } else {
            submit();
        }
    }

    /** Counts learning time; a slower emulated device holds back what it sends next by the difference. */
    private void emulateSpeed(long nanos) {
        long extra = profile.speed() >= 1 ? 0 : (long) (nanos * (1 / profile.speed() - 1));
        busyNanos += nanos + extra;
        if (extra > 0) {
            uplinkFreeAt = Math.max(uplinkFreeAt, System.nanoTime()) + extra;
        }
    }

    private void sendUpdate(long basedOnStep) {
        boolean last = stepsDone == batches.steps() && learner.bufferedSteps() == 0;
        for (Adapter a : learner.adapters().values()) {
            AdapterUpdate u = wire.parameterUpdate(spec.getJobId(), deviceId, a, learner.version(), basedOnStep, 0);
            if (last) {
                u = u.toBuilder().setFinalVersion(true).build();
            }
            send(new WireEnvelope(deviceId, u, self));
        }
        metrics.increment("device.updates-sent");
    }

    private void saveCheckpoint() {
        if (checkpoint == null) {
            return;
        }
        try {
            DeviceCheckpoints.save(checkpoint, spec.getJobId(), deviceId, learner, stepsDone);
        } catch (java.io.IOException e) {
            errors.add("checkpoint not written: " + e.getMessage());
            getContext().getLog().error("device {}: could not write checkpoint {}: {}", deviceId, checkpoint, e.getMessage());
        }
    }

    /** Keeps up to I batches in flight: the coordinator never computes more than I steps on one version. */
    private void submit() {
        int window = Math.max(1, spec.getInterval());
        while (inFlight < window && nextToSend < batches.steps() && nextToSend < releasedUntil) {
            LocalBatch b = batches.batch(nextToSend);
            TrainingBatch msg = TrainingBatch.newBuilder().setJobId(spec.getJobId()).setDeviceId(deviceId).setStep(nextToSend)
                    .setInputs(wire.codec().encode(b.input())).setLabels(wire.codec().encode(b.oneHot()))
                    .setDeviceBusyMicros(busyNanos / 1000).build();
            send(new WireEnvelope(deviceId, msg, self));
            nextToSend++;
            inFlight++;
        }
    }

    private Behavior<Command> onRelease(Release r) {
        releasedUntil = Math.max(releasedUntil, r.untilStep());
        if (!awaitingStart && !finished) {
            submit();
        }
        return this;
    }

    private Behavior<Command> onGetState(GetState g) {
        g.replyTo().tell(state());
        return this;
    }

    private State state() {
        Map<String, INDArray> params = new LinkedHashMap<>();
        learner.adapters().forEach((k, v) -> params.put(k, v.params().dup()));
        return new State(deviceId, learner.version(), stepsDone, finished, lastLoss, params, List.copyOf(errors), busyNanos / 1000);
    }
}
