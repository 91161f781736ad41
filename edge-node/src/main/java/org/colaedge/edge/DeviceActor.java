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

    /** Ask for the device's state (local use: tests, monitoring). */
    public record GetState(ActorRef<State> replyTo) implements Command, NoSerializationVerificationNeeded { }

    /** A snapshot: adapter version, steps answered, copies of the parameters, errors received. */
    public record State(long version, long stepsDone, boolean finished, double lastLoss, Map<String, INDArray> parameters, List<String> errors)
            implements NoSerializationVerificationNeeded { }

    /** One local training batch: inputs and one-hot labels. */
    public record LocalBatch(INDArray input, INDArray oneHot) { }

    private final String deviceId;
    private final RecipientRef<WireEnvelope> job;
    private final JobSpec spec;
    private final List<LocalBatch> batches;
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
        return Behaviors.setup(ctx -> new DeviceActor(ctx, deviceId, job, spec, batches, optimizer, wire, onFinished, checkpoint));
    }

    private DeviceActor(ActorContext<Command> context, String deviceId, RecipientRef<WireEnvelope> job, JobSpec spec,
                        List<LocalBatch> batches, OptimizerConfig optimizer, WireMapping wire, ActorRef<State> onFinished,
                        Path checkpoint) throws java.io.IOException {
        super(context);
        this.deviceId = deviceId;
        this.job = job;
        this.spec = spec.toBuilder().setDeviceId(deviceId).build();
        this.batches = List.copyOf(batches);
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
        job.tell(new WireEnvelope(deviceId, DeviceHello.newBuilder().setDeviceId(deviceId).setProtocolVersion(WireMapping.PROTOCOL_VERSION)
                .setCapabilities(Capabilities.newBuilder().addDtypes(DType.FLOAT32)).build(), self));
        attach();
    }

    /** (Re-)attaches to the job: where this device stands, then its latest update again (idempotent by version). */
    private void attach() {
        job.tell(new WireEnvelope(deviceId, spec.toBuilder().setResumeStep(stepsDone).setDeviceVersion(learner.version()).build(), self));
        if (learner.version() > 0) {
            sendUpdate(stepsDone - 1);
        }
        awaitingStart = true;
    }

    @Override
    public Receive<Command> createReceive() {
        return newReceiveBuilder()
                .onMessage(FromCoordinator.class, this::onWire)
                .onMessage(GetState.class, this::onGetState)
                .build();
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
                if (stepsDone >= batches.size()) {
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

    private void onHiddenGradients(HiddenGradients hg) {
        Map<String, HiddenGradient> step = wire.decodeHiddenGradients(hg, layers);
        inFlight--;
        stepsDone++;
        lastLoss = hg.getLoss();
        metrics.increment("device.steps");
        // Checkpoint first, then send: a device killed in between resumes with the version it
        // never sent and re-sends it on re-attaching; the reverse order could leave the job a
        // version ahead of the device.
        if (learner.accept(step)) {
            saveCheckpoint();
            sendUpdate(hg.getStep());
        }
        afterStep(hg.getStep());
    }

    /** After a step is answered (or skipped): finish after the last one, else submit more. */
    private void afterStep(long step) {
        if (stepsDone == batches.size()) {
            if (learner.flush()) {
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

    private void sendUpdate(long basedOnStep) {
        for (Adapter a : learner.adapters().values()) {
            AdapterUpdate u = wire.parameterUpdate(spec.getJobId(), deviceId, a, learner.version(), basedOnStep, 0);
            job.tell(new WireEnvelope(deviceId, u, self));
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
        while (inFlight < window && nextToSend < batches.size()) {
            LocalBatch b = batches.get((int) nextToSend);
            TrainingBatch msg = TrainingBatch.newBuilder().setJobId(spec.getJobId()).setDeviceId(deviceId).setStep(nextToSend)
                    .setInputs(wire.codec().encode(b.input())).setLabels(wire.codec().encode(b.oneHot())).build();
            job.tell(new WireEnvelope(deviceId, msg, self));
            nextToSend++;
            inFlight++;
        }
    }

    private Behavior<Command> onGetState(GetState g) {
        g.replyTo().tell(state());
        return this;
    }

    private State state() {
        Map<String, INDArray> params = new LinkedHashMap<>();
        learner.adapters().forEach((k, v) -> params.put(k, v.params().dup()));
        return new State(learner.version(), stepsDone, finished, lastLoss, params, List.copyOf(errors));
    }
}
