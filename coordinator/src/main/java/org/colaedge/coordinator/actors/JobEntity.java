package org.colaedge.coordinator.actors;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.RecipientRef;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.adapter.AdapterSpec;
import org.colaedge.common.adapter.Adapters;
import org.colaedge.common.cluster.WireEnvelope;
import org.colaedge.common.cluster.WireTypes;
import org.colaedge.common.learning.MergedWeight;
import org.colaedge.common.metrics.ColaMetrics;
import org.colaedge.common.wire.ProtocolException;
import org.colaedge.common.wire.WireMapping;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.model.ModelView;
import org.colaedge.coordinator.model.SlotView;
import org.colaedge.coordinator.snapshot.SnapshotStore;
import org.colaedge.proto.v1.AdapterUpdate;
import org.colaedge.proto.v1.DType;
import org.colaedge.proto.v1.DeviceHello;
import org.colaedge.proto.v1.DeviceRegistered;
import org.colaedge.proto.v1.ErrorCode;
import org.colaedge.proto.v1.ErrorReply;
import org.colaedge.proto.v1.HiddenGradients;
import org.colaedge.proto.v1.JobSnapshot;
import org.colaedge.proto.v1.JobSpec;
import org.colaedge.proto.v1.JobStarted;
import org.colaedge.proto.v1.JobStatus;
import org.colaedge.proto.v1.MemberStatus;
import org.colaedge.proto.v1.StateRequest;
import org.colaedge.proto.v1.TrainingBatch;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One fine-tuning job of one user ("alone" mode), a Cluster Sharding entity on coordinator nodes.
 *
 * <p>It holds the adapter version it computes with (a copy of the device's adapters, or W + alpha
 * dW), takes the device's {@code TrainingBatch}es, has the {@link ComputePool} compute hidden
 * gradients on the compute dispatcher (results piped back as messages: the actor never blocks) and
 * answers {@code HiddenGradients} stamped with that version. It applies {@code AdapterUpdate}s
 * when complete (every adapted layer of version v + 1), idempotently: a version it already holds is
 * ignored. Bounded staleness: with interval I it computes at most I steps with one version, then
 * holds further batches (at most {@code max-pending-batches}, beyond that it refuses them) until the
 * next update arrives. Bad input gets an {@code ErrorReply} and is counted ({@link ColaMetrics},
 * {@code errors.<code>}); nothing crashes it.
 *
 * <p>State on disk: after every {@code snapshots.every} applied versions (and when it stops) it
 * writes a {@code JobSnapshot} (spec, version, next step, that version's updates, the group's
 * version and mean) through the {@link SnapshotStore}; a new incarnation (its node left and the
 * shard moved, or it was passivated) restores from it on its first message, and then waits for its
 * device to re-attach before it computes again. An unusable snapshot is reported, counted, set aside,
 * and the job is rebuilt from its device instead. A device whose checkpoint is older than the job's
 * version wins: the job rolls back to it.
 *
 * <p>Its device is watched by the node's {@link DeviceRegistry}; on {@link DeviceAway} the job drops
 * what it holds for that device and, by {@code device-away.policy}, either waits ("pause": state kept
 * in memory, its group told to hold new versions, until the device re-attaches or
 * {@code device-away.timeout} passes) or snapshots and passivates at once ("continue"). Idle for
 * {@code job-idle-timeout}, it snapshots and passivates too.
 */
public final class JobEntity extends AbstractBehavior<Object> {

    public static final EntityTypeKey<WireEnvelope> TYPE_KEY = EntityTypeKey.create(WireEnvelope.class, "ColaJob");

    /** What every job on a node shares: compute, settings, the snapshot store, the device registry, the groups. */
    public record Node(ComputePool pool, Map<String, ActorRef<ModelBatcher.Command>> batchers, WireMapping wire, CoordinatorSettings settings,
                       SnapshotStore snapshots, ActorRef<DeviceRegistry.Command> registry,
                       Function<String, RecipientRef<WireEnvelope>> groups, String address) { }

    /** From the {@link DeviceRegistry}: the device ({@code device}, its reply-to ref) went away. Local only. */
    public record DeviceAway(String deviceId, ActorRef<WireEnvelope> device) implements NoSerializationVerificationNeeded { }

    private enum IdleTimeout { INSTANCE }

    private enum AwayTimeout { INSTANCE }

    /** What a compute request carries through the batcher and back. */
    private record Token(TrainingBatch batch, ActorRef<WireEnvelope> replyTo, long attachment) { }

    private record Pending(TrainingBatch batch, ActorRef<WireEnvelope> replyTo) { }

    private final String jobId;
    private final Node node;
    private final ActorRef<ClusterSharding.ShardCommand> shard;
    private final TimerScheduler<Object> timers;
    private final ColaMetrics metrics;
    private final WireMapping wire;
    private final ArrayDeque<Pending> pending = new ArrayDeque<>();
    private final Map<String, AdapterUpdate> partialUpdate = new HashMap<>();
    /** The decoded parameters of {@link #partialUpdate} (each update is decoded once). */
    private final Map<String, Map<String, INDArray>> partialParams = new HashMap<>();

    private JobSpec spec;
    private BaseModel model;
    private Map<String, Adapter> adapters;
    private Map<String, MergedWeight> merged;
    private ModelView view;
    /** The view is rebuilt only when a step is computed after a change (not on every group or device update). */
    private boolean viewStale = true;
    private int interval;
    private long version;
    private long computedWithVersion;
    private long nextStep;
    private boolean computing;
    private long errors;
    /** Bumped whenever the device (re-)attaches or goes away: results computed for an earlier attachment are dropped. */
    private long attachment;
    /** The device's reply-to ref while one is attached to this incarnation (null: none, or it went away). */
    private ActorRef<WireEnvelope> device;
    private int deviceProtocol;
    /** Policy pause: the device went away and the job waits for it. */
    private boolean away;
    private boolean restoreTried;
    private boolean restored;
    private boolean passivating;
    /** The version the last snapshot holds (-1: none written by this incarnation). */
    private long snapshotVersion = -1;
    /** The updates of the current version, one per layer, as applied (in a group: as contributed, with samples). */
    private List<AdapterUpdate> lastApplied = List.of();
    /** Collaboration: the group entity, the group's mean deltas per layer, their version, samples since the last update. */
    private RecipientRef<WireEnvelope> group;
    private final Map<String, AdapterUpdate> groupPartial = new HashMap<>();
    /** The group's latest complete version, one merged-delta update per layer, decoded only when a view is built. */
    private List<AdapterUpdate> groupApplied = List.of();
    private long groupVersion;
    private long samplesSinceUpdate;
    /** Steps computed since the group version last changed (bounded by group-max-steps-ahead). */
    private long stepsOnGroupVersion;
    /** Running totals for {@code JobStatus}. */
    private long stepsComputed;
    private double lossSum;
    private long stalenessSum;
    private long rowsComputed;
    private long bytesReceived;
    private long bytesSent;
    private long deviceBusyMicros;

    /**
     * @param shard the entity's shard, to passivate through (null outside sharding: the job then just stops)
     */
    public static Behavior<WireEnvelope> create(String jobId, Node node, ActorRef<ClusterSharding.ShardCommand> shard) {
        return Behaviors.<Object>setup(ctx -> Behaviors.withTimers(timers -> new JobEntity(ctx, timers, jobId, node, shard))).narrow();
    }

    private JobEntity(ActorContext<Object> context, TimerScheduler<Object> timers, String jobId, Node node,
                      ActorRef<ClusterSharding.ShardCommand> shard) {
        super(context);
        this.timers = timers;
        this.jobId = jobId;
        this.node = node;
        this.shard = shard;
        this.wire = node.wire();
        this.metrics = ColaMetrics.get(context.getSystem());
    }

    @Override
    public Receive<Object> createReceive() {
        return newReceiveBuilder()
                .onMessage(WireEnvelope.class, this::onEnvelope)
                .onMessage(ModelBatcher.Computed.class, this::onComputed)
                .onMessage(DeviceAway.class, this::onDeviceAway)
                .onMessageEquals(AwayTimeout.INSTANCE, this::onAwayTimeout)
                .onMessageEquals(IdleTimeout.INSTANCE, this::onIdle)
                .onSignal(PostStop.class, this::onPostStop)
                .build();
    }

    private Behavior<Object> onEnvelope(WireEnvelope e) {
        Duration idle = node.settings().jobIdleTimeout();
        if (!idle.isZero()) {
            timers.startSingleTimer(IdleTimeout.INSTANCE, IdleTimeout.INSTANCE, idle);
        }
        if (spec == null && !restoreTried) {
            restore();
        }
        try {
            if (e.payload() instanceof ErrorReply error) {
                onError(e.senderId(), error);
            } else if (e.payload() instanceof DeviceHello hello) {
                onHello(hello, e.replyTo());
            } else if (e.payload() instanceof JobSpec s) {
                onStart(s, e.replyTo());
            } else if (e.payload() instanceof TrainingBatch b) {
                onBatch(b, e.replyTo());
            } else if (e.payload() instanceof AdapterUpdate u) {
                onUpdate(u, e.replyTo());
            } else if (e.payload() instanceof StateRequest r) {
                e.replyTo().tell(new WireEnvelope(jobId, status(r.getIncludeAdapters()), getContext().getSelf().narrow()));
            } else {
                throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "job " + jobId
                        + " takes DeviceHello, JobSpec, TrainingBatch, AdapterUpdate or StateRequest, not " + WireTypes.typeName(e.payload()));
            }
        } catch (ProtocolException ex) {
            reject(e.replyTo(), ex, -1);
        } catch (IllegalArgumentException ex) {
            reject(e.replyTo(), new ProtocolException(ErrorCode.MALFORMED_MESSAGE, ex.getMessage(), ex), -1);
        } catch (RuntimeException ex) {
            // Whatever else a message provokes, the job survives it and says so.
            reject(e.replyTo(), new ProtocolException(ErrorCode.INTERNAL, "job " + jobId + ": " + ex, ex), -1);
        }
        return this;
    }

    /** Errors are never answered (no error ping-pong); a group that lost its state gets this member again. */
    private void onError(String from, ErrorReply error) {
        if (group != null && from.equals(spec.getGroupId()) && error.getCode() == ErrorCode.UNKNOWN_JOB) {
            getContext().getLog().info("job {}: group {} lost its state; joining again", jobId, from);
            group.tell(new WireEnvelope(jobId, spec, getContext().getSelf().narrow()));
            for (AdapterUpdate u : lastApplied) {
                group.tell(new WireEnvelope(jobId, u, getContext().getSelf().narrow()));
            }
        } else {
            errors++;
            getContext().getLog().warn("job {}: error from {}: {} {}", jobId, from, error.getCode(), error.getMessage());
        }
    }

    private void onHello(DeviceHello hello, ActorRef<WireEnvelope> replyTo) {
        if (hello.getProtocolVersion() != WireMapping.PROTOCOL_VERSION) {
            throw new ProtocolException(ErrorCode.PROTOCOL_VERSION_MISMATCH, "device '" + hello.getDeviceId() + "' speaks protocol version "
                    + hello.getProtocolVersionValue() + "; this coordinator speaks " + WireMapping.PROTOCOL_VERSION.getNumber());
        }
        deviceProtocol = hello.getProtocolVersionValue();
        replyTo.tell(new WireEnvelope(jobId, DeviceRegistered.newBuilder().setDeviceId(hello.getDeviceId())
                .setProtocolVersion(WireMapping.PROTOCOL_VERSION).setCoordinatorId(node.address()).build(),
                getContext().getSelf().narrow()));
    }

    private void onStart(JobSpec s, ActorRef<WireEnvelope> replyTo) {
        JobSpec base = s.toBuilder().setJobId(jobId).clearResumeStep().clearDeviceVersion().build();
        if (spec != null && !spec.equals(base)) {
            if (restored && device == null && !away) {
                getContext().getLog().warn("job {}: its snapshot holds another spec than its device sends; starting afresh", jobId);
                clearState();
            } else {
                throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "job " + jobId + " already runs with another spec");
            }
        }
        if (spec == null) {
            setUp(base);
            metrics.increment("jobs.started");
            getContext().getLog().info("job {}: started on {} with {} adapters, I={}, {}{}", jobId, s.getBaseModel(), adapters.size(), interval,
                    s.getMerged() ? "merged" : "unmerged", group == null ? "" : ", group " + s.getGroupId());
        }
        if (group != null) {
            group.tell(new WireEnvelope(jobId, spec, getContext().getSelf().narrow()));
        }
        if (away) {
            away = false;
            timers.cancel(AwayTimeout.INSTANCE);
            getContext().getLog().info("job {}: device {} is back", jobId, s.getDeviceId());
            if (group != null) {
                group.tell(new WireEnvelope(jobId, MemberStatus.newBuilder().setJobId(jobId).setAway(false).build(), getContext().getSelf().narrow()));
            }
        }
        if (s.getDeviceVersion() < version) {
            // The device is the source of truth and lost state this job holds (a snapshot newer than
            // its checkpoint): roll back to the initial adapters; its version, if any, comes next.
            getContext().getLog().warn("job {}: device holds version {}, the job {}: rolling back to the device", jobId, s.getDeviceVersion(), version);
            metrics.increment("jobs.rolled-back");
            setUp(spec);
            version = 0;
            lastApplied = List.of();
            viewStale = true;
        }
        // (Re-)attachment: the device says where it stands; what was queued or computing for an
        // earlier attachment is dropped, it resubmits from resume_step. If it holds a newer
        // version than this job (the job restarted, or missed the last update), computing waits
        // for that version, which the device re-sends next.
        attachment++;
        pending.clear();
        partialUpdate.clear();
        partialParams.clear();
        computing = false;
        nextStep = s.getResumeStep();
        computedWithVersion = s.getDeviceVersion() > version ? interval : Math.max(0, Math.min(interval, nextStep - version * interval));
        device = replyTo;
        node.registry().tell(new DeviceRegistry.DeviceAttached(jobId, s.getDeviceId(), deviceProtocol, replyTo, getContext().getSelf().narrow()));
        replyTo.tell(new WireEnvelope(jobId, JobStarted.newBuilder().setJobId(jobId).setAdapterVersion(version).setNextStep(nextStep).build(),
                getContext().getSelf().narrow()));
    }

    /** Builds the job from its spec: base model, fresh adapters (same seeds as the device's), merged weights, the group. */
    private void setUp(JobSpec s) {
        BaseModel m = node.pool().model(s.getBaseModel());
        Map<String, Adapter> a = new LinkedHashMap<>();
        for (org.colaedge.proto.v1.AdapterSpec p : s.getAdaptersList()) {
            AdapterSpec as = WireMapping.fromProto(p);
            m.slot(as.layer());
            a.put(as.layer(), Adapters.create(as));
        }
        if (a.isEmpty()) {
            throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "job " + jobId + ": a job needs at least one adapter");
        }
        if (!s.getGroupId().isEmpty() && !s.getMerged()) {
            throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "job " + jobId + ": collaboration merges the group's mean dW; set merged");
        }
        this.spec = s;
        this.model = m;
        this.adapters = a;
        this.interval = Math.max(1, s.getInterval());
        this.group = s.getGroupId().isEmpty() ? null : node.groups().apply(s.getGroupId());
        this.merged = null;
        if (s.getMerged() && group == null) { // a group member computes with the group's shared model instead
            merged = new LinkedHashMap<>();
            a.forEach((layer, adapter) -> merged.put(layer, new MergedWeight(m.weight(layer), adapter.spec().scaling())));
        }
        viewStale = true;
    }

    /** Back to "no state": as a job that was never started. */
    private void clearState() {
        spec = null;
        model = null;
        adapters = null;
        merged = null;
        group = null;
        version = 0;
        nextStep = 0;
        groupVersion = 0;
        groupApplied = List.of();
        lastApplied = List.of();
        restored = false;
    }

    private void onBatch(TrainingBatch b, ActorRef<WireEnvelope> replyTo) {
        requireStarted();
        bytesReceived += b.getSerializedSize();
        deviceBusyMicros = Math.max(deviceBusyMicros, b.getDeviceBusyMicros());
        if (!b.getDeviceId().equals(spec.getDeviceId())) {
            throw new ProtocolException(ErrorCode.UNKNOWN_DEVICE, "job " + jobId + " belongs to device '" + spec.getDeviceId()
                    + "', not '" + b.getDeviceId() + "'");
        }
        if (device == null) {
            // Restored from a snapshot, or its device went away: which steps the device still has
            // in flight is unknown here, so it must say where it stands first.
            throw new ProtocolException(ErrorCode.UNKNOWN_JOB, "job " + jobId + " holds version " + version + " and step " + nextStep
                    + " but no attached device: re-attach (send its JobSpec) to continue");
        }
        long expected = nextStep + pending.size() + (computing ? 1 : 0);
        if (b.getStep() < expected) {
            return; // a re-sent batch that is already computed or queued: idempotent
        }
        if (b.getStep() > expected) {
            throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "job " + jobId + ": expected step " + expected + ", got " + b.getStep());
        }
        if (pending.size() >= node.settings().maxPendingBatches()) {
            throw new ProtocolException(ErrorCode.OVERLOADED, "job " + jobId + ": " + pending.size()
                    + " batches already wait for an adapter update; slow down");
        }
        pending.add(new Pending(b, replyTo));
        tryCompute();
    }

    private void tryCompute() {
        if (computing || pending.isEmpty() || computedWithVersion >= interval) {
            return; // busy, nothing to do, or bounded staleness: wait for the next update
        }
        if (group != null && spec.getSynchronous() && groupVersion < version) {
            return; // a synchronous group: wait until the group has published the round of this version
        }
        if (group != null && stepsOnGroupVersion >= node.settings().groupMaxStepsAhead()) {
            return; // the group withholds new versions (a member is away): wait with it
        }
        Pending p = pending.poll();
        INDArray input;
        INDArray oneHot;
        try {
            input = wire.decodeFinite(p.batch().getInputs(), "inputs of step " + p.batch().getStep());
            INDArray labels = wire.decodeFinite(p.batch().getLabels(), "labels of step " + p.batch().getStep());
            oneHot = labels.rank() == 1 ? oneHot(labels, model.classes()) : labels;
            long[] want = new long[model.inputShape().length + 1];
            want[0] = input.rank() == 0 ? 0 : input.size(0);
            System.arraycopy(model.inputShape(), 0, want, 1, want.length - 1);
            long perSample = java.util.Arrays.stream(model.inputShape()).reduce(1, (x, y) -> x * y);
            if (input.rank() == 0 || input.size(0) == 0 || input.length() != want[0] * perSample) {
                throw new ProtocolException(ErrorCode.SHAPE_MISMATCH, "step " + p.batch().getStep() + ": inputs of shape "
                        + java.util.Arrays.toString(input.shape()) + " are not rows of " + java.util.Arrays.toString(model.inputShape()));
            }
            if (oneHot.rank() != 2 || oneHot.size(0) != want[0] || oneHot.size(1) != model.classes()) {
                throw new ProtocolException(ErrorCode.SHAPE_MISMATCH, "step " + p.batch().getStep() + ": labels of shape "
                        + java.util.Arrays.toString(oneHot.shape()) + " do not fit " + want[0] + " rows of " + model.classes() + " classes");
            }
            input = input.reshape('c', want);
        } catch (RuntimeException ex) {
            ProtocolException pe = ex instanceof ProtocolException x ? x
                    : new ProtocolException(ErrorCode.SHAPE_MISMATCH, "step " + p.batch().getStep() + ": " + ex.getMessage(), ex);
            reject(p.replyTo(), pe, p.batch().getStep());
            nextStep++;
            tryCompute();
            return;
        }
        computing = true;
        stepsOnGroupVersion++;
        if (viewStale) {
            try {
                rebuildView();
            } catch (RuntimeException ex) { // a bad group or device update: keep computing with the last good view
                errors++;
                metrics.error(ErrorCode.MALFORMED_TENSOR);
                getContext().getLog().warn("job {}: could not build the new adapter view, keeping the previous one: {}", jobId, ex.getMessage());
            }
            viewStale = false;
        }
        node.batchers().get(spec.getBaseModel()).tell(new ModelBatcher.Compute(input, oneHot, view, new Token(p.batch(), p.replyTo(), attachment),
                getContext().getSelf().narrow()));
    }

    private Behavior<Object> onComputed(ModelBatcher.Computed c) {
        Token t = (Token) c.token();
        if (t.attachment() != attachment) {
            return this; // computed for a device session that has since re-attached or gone away
        }
        computing = false;
        nextStep++;
        if (c.error() != null) {
            ErrorCode code = c.error() instanceof IllegalArgumentException ? ErrorCode.SHAPE_MISMATCH : ErrorCode.INTERNAL;
            reject(t.replyTo(), new ProtocolException(code, "step " + t.batch().getStep() + ": " + c.error().getMessage(), c.error()),
                    t.batch().getStep());
        } else {
            stalenessSum += computedWithVersion;
            computedWithVersion++;
            var seg = c.result();
            samplesSinceUpdate += seg.rows();
            stepsComputed++;
            lossSum += seg.loss();
            rowsComputed += seg.rows();
            metrics.increment("jobs.batches-computed");
            metrics.add("jobs.rows", seg.rows());
            HiddenGradients hg = wire.hiddenGradients(jobId, spec.getDeviceId(), t.batch().getStep(), version, seg.loss(), seg.hidden(), DType.FLOAT32);
            bytesSent += hg.getSerializedSize();
            t.replyTo().tell(new WireEnvelope(jobId, hg, getContext().getSelf().narrow()));
        }
        tryCompute();
        return this;
    }

    private void onUpdate(AdapterUpdate u, ActorRef<WireEnvelope> replyTo) {
        requireStarted();
        if (group != null && u.getJobId().equals(spec.getGroupId())) {
            onGroupUpdate(u);
            return;
        }
        bytesReceived += u.getSerializedSize(); // device traffic only: the group's updates are coordinator-internal
        if (u.getVersion() <= version) {
            requireAdapter(u.getLayer());
            return; // already applied: updates are idempotent by version
        }
        // Parameters and merged deltas are absolute (not increments), so a newer version may skip
        // versions this job never saw (after a restart); all layers of one version must agree.
        if (!partialUpdate.isEmpty() && partialUpdate.values().iterator().next().getVersion() != u.getVersion()) {
            AdapterUpdate other = partialUpdate.values().iterator().next();
            if (u.getVersion() < other.getVersion()) {
                return; // an older, incomplete version: superseded
            }
            partialUpdate.clear();
            partialParams.clear();
        }
        Map<String, INDArray> decoded = validate(u); // before keeping it, so that a bad layer update never half-applies a version
        partialUpdate.put(u.getLayer(), u);
        if (decoded != null) {
            partialParams.put(u.getLayer(), decoded);
        }
        if (partialUpdate.size() < adapters.size()) {
            return;
        }
        applyLayers(partialUpdate.values());
        if (group != null) {
            // Contribute the device's new version to the group, weighted by the samples it rests on.
            List<AdapterUpdate> contributions = new ArrayList<>();
            for (AdapterUpdate lu : partialUpdate.values()) {
                AdapterUpdate contribution = lu.toBuilder().setSamples(samplesSinceUpdate).build();
                contributions.add(contribution);
                group.tell(new WireEnvelope(jobId, contribution, getContext().getSelf().narrow()));
            }
            lastApplied = List.copyOf(contributions);
            samplesSinceUpdate = 0;
        } else {
            lastApplied = List.copyOf(partialUpdate.values());
        }
        version = u.getVersion();
        partialUpdate.clear();
        partialParams.clear();
        computedWithVersion = 0;
        viewStale = true;
        metrics.increment("jobs.updates-applied");
        node.registry().tell(new DeviceRegistry.DeviceSeen(jobId));
        if (version - Math.max(0, snapshotVersion) >= node.settings().snapshotEvery()) {
            writeSnapshot();
        }
        tryCompute();
    }

    private Adapter requireAdapter(String layer) {
        Adapter a = adapters.get(layer);
        if (a == null) {
            throw new ProtocolException(ErrorCode.SHAPE_MISMATCH, "job " + jobId + " has no adapter on layer '" + layer + "'");
        }
        return a;
    }

    /**
     * Checks one layer of an update (adapter, parameters or merged delta, shapes, finite values)
     * without applying it; returns the decoded parameters (null for a merged delta).
     */
    private Map<String, INDArray> validate(AdapterUpdate u) {
        Adapter a = requireAdapter(u.getLayer());
        if (u.hasParameters()) {
            return wire.decodeParameters(a, u.getParameters());
        } else if (u.hasMergedDelta()) {
            requireMergedDeltaShape(u);
            return null;
        } else {
            throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "update of layer " + u.getLayer() + " carries neither parameters nor a merged delta");
        }
    }

    /** Applies a complete, validated version (one update per layer) to the adapters and merged weights. */
    private void applyLayers(Collection<AdapterUpdate> layers) {
        for (AdapterUpdate lu : layers) {
            Adapter target = adapters.get(lu.getLayer());
            if (lu.hasParameters()) {
                Map<String, INDArray> decoded = partialParams.get(lu.getLayer());
                (decoded != null ? decoded : wire.decodeParameters(target, lu.getParameters())).forEach(target::setParam);
                if (merged != null) {
                    merged.get(lu.getLayer()).apply(target.deltaWeight());
                }
            } else {
                merged.get(lu.getLayer()).apply(wire.decodeFinite(lu.getMergedDelta(), "merged delta of layer " + lu.getLayer()));
            }
        }
    }

    /** The group's new mean: applied when every layer of its version has arrived. */
    private void onGroupUpdate(AdapterUpdate u) {
        if (u.getVersion() <= groupVersion) {
            return;
        }
        if (!groupPartial.isEmpty() && groupPartial.values().iterator().next().getVersion() != u.getVersion()) {
            groupPartial.clear();
        }
        requireGroupDeltaShape(u);
        groupPartial.put(u.getLayer(), u);
        if (groupPartial.size() < adapters.size()) {
            return;
        }
        groupVersion = u.getVersion();
        groupApplied = List.copyOf(groupPartial.values());
        groupPartial.clear();
        stepsOnGroupVersion = 0;
        viewStale = true;
        tryCompute(); // a synchronous group's new round may be what this job waits for
    }

    /** A group delta must fit the layer's weight (by its declared shape; values are decoded and checked when a view is built). */
    private void requireGroupDeltaShape(AdapterUpdate u) {
        requireAdapter(u.getLayer());
        long[] shape = u.getMergedDelta().getShapeList().stream().mapToLong(Long::longValue).toArray();
        if (!u.hasMergedDelta() || !java.util.Arrays.equals(shape, model.weight(u.getLayer()).shape())) {
            throw new ProtocolException(ErrorCode.SHAPE_MISMATCH, "group delta of layer " + u.getLayer() + " has shape "
                    + java.util.Arrays.toString(shape) + ", the layer's weight " + java.util.Arrays.toString(model.weight(u.getLayer()).shape()));
        }
    }

    // ---- snapshots --------------------------------------------------------------------------------

    /** Restores the job from its snapshot, if there is one; an unusable one is reported, set aside and ignored. */
    private void restore() {
        restoreTried = true;
        try {
            node.snapshots().read(SnapshotStore.JOB, jobId).ifPresent(this::restoreFrom);
        } catch (SnapshotStore.CorruptSnapshotException ex) {
            corruptSnapshot(ex);
        }
    }

    private void restoreFrom(JobSnapshot s) {
        try {
            if (!s.getSpec().getJobId().equals(jobId)) {
                throw new IllegalArgumentException("it belongs to job '" + s.getSpec().getJobId() + "'");
            }
            setUp(s.getSpec());
            for (AdapterUpdate u : s.getAdaptersList()) {
                validate(u);
            }
            if (s.getAdaptersCount() != (s.getAdapterVersion() == 0 ? 0 : adapters.size())) {
                throw new IllegalArgumentException(s.getAdaptersCount() + " layer updates for version " + s.getAdapterVersion() + " of "
                        + adapters.size() + " adapters");
            }
            applyLayers(s.getAdaptersList());
            for (AdapterUpdate u : s.getGroupDeltasList()) {
                requireGroupDeltaShape(u);
            }
        } catch (RuntimeException ex) {
            clearState();
            corruptSnapshot(node.snapshots().setAside(SnapshotStore.JOB, jobId, ex.getMessage(), ex));
            return;
        }
        version = s.getAdapterVersion();
        nextStep = s.getNextStep();
        lastApplied = List.copyOf(s.getAdaptersList());
        groupVersion = s.getGroupVersion();
        groupApplied = List.copyOf(s.getGroupDeltasList());
        snapshotVersion = version;
        restored = true;
        viewStale = true;
        metrics.increment("snapshots.restored");
        getContext().getLog().info("job {}: restored from its snapshot at version {}, next step {}{}", jobId, version, nextStep,
                group == null ? "" : ", group version " + groupVersion);
        if (group != null) {
            group.tell(new WireEnvelope(jobId, spec, getContext().getSelf().narrow())); // the group learns where this member lives now
        }
    }

    private void corruptSnapshot(SnapshotStore.CorruptSnapshotException ex) {
        metrics.increment("snapshots.corrupt");
        getContext().getLog().error("job {}: {}; the job starts without it and is rebuilt from its device", jobId, ex.getMessage());
    }

    /** Writes the job's snapshot now (atomically replacing the last one); a failure is logged and counted, never fatal. */
    private void writeSnapshot() {
        if (!node.snapshots().enabled() || spec == null) {
            return;
        }
        JobSnapshot s = JobSnapshot.newBuilder().setSpec(spec).setAdapterVersion(version).setNextStep(nextStep).addAllAdapters(lastApplied)
                .setGroupVersion(groupVersion).addAllGroupDeltas(groupApplied).build();
        long t0 = System.nanoTime();
        try {
            node.snapshots().write(SnapshotStore.JOB, jobId, s);
            snapshotVersion = version;
            metrics.increment("snapshots.written");
            metrics.add("snapshots.write-micros", (System.nanoTime() - t0) / 1000);
        } catch (IOException | RuntimeException ex) {
            metrics.increment("snapshots.failed");
            getContext().getLog().error("job {}: snapshot of version {} not written: {}", jobId, version, ex.toString());
        }
    }

    // ---- device away, idleness, stopping ---------------------------------------------------------

    private Behavior<Object> onDeviceAway(DeviceAway a) {
        if (!a.device().equals(device)) {
            return this; // the device of an earlier attachment
        }
        device = null;
        attachment++; // batches in flight for the away device are dropped
        pending.clear();
        partialUpdate.clear();
        partialParams.clear();
        computing = false;
        if (node.settings().deviceAwayPolicy() == CoordinatorSettings.DeviceAwayPolicy.CONTINUE) {
            getContext().getLog().info("job {}: device {} went away; snapshotting and stopping (policy continue)", jobId, a.deviceId());
            return passivate();
        }
        away = true;
        metrics.increment("jobs.paused");
        getContext().getLog().info("job {}: device {} went away; waiting for it up to {} (policy pause)", jobId, a.deviceId(),
                node.settings().deviceAwayTimeout());
        timers.startSingleTimer(AwayTimeout.INSTANCE, node.settings().deviceAwayTimeout());
        if (group != null) {
            group.tell(new WireEnvelope(jobId, MemberStatus.newBuilder().setJobId(jobId).setAway(true).build(), getContext().getSelf().narrow()));
        }
        return this;
    }

    private Behavior<Object> onAwayTimeout() {
        if (!away) {
            return this;
        }
        getContext().getLog().info("job {}: device stayed away for {}; snapshotting and stopping", jobId, node.settings().deviceAwayTimeout());
        return passivate();
    }

    private Behavior<Object> onIdle() {
        return away ? this : passivate(); // a paused job waits for its device, not for the idle timeout
    }

    /** Snapshots the job and asks its shard to stop it (outside sharding it just stops). */
    private Behavior<Object> passivate() {
        if (passivating) {
            return this;
        }
        passivating = true;
        away = false;
        timers.cancelAll();
        writeSnapshot();
        metrics.increment("jobs.passivated");
        if (shard == null) {
            return Behaviors.stopped();
        }
        shard.tell(new ClusterSharding.Passivate<>(getContext().getSelf().narrow()));
        return this;
    }

    private Behavior<Object> onPostStop(PostStop signal) {
        if (!passivating && version > snapshotVersion) {
            writeSnapshot(); // stopped by a hand-off (its node leaves) with versions not yet written (snapshots.every > 1)
        }
        node.registry().tell(new DeviceRegistry.JobStopped(jobId, getContext().getSelf().narrow()));
        return this;
    }

    /** Where the job stands, with its running totals; with adapters, also its adapters' parameters. */
    private JobStatus status(boolean includeAdapters) {
        JobStatus.Builder b = JobStatus.newBuilder().setJobId(jobId).setStarted(spec != null).setAdapterVersion(version).setNextStep(nextStep)
                .setGroupVersion(groupVersion).setDeviceAttached(device != null).setDeviceAway(away).setRestored(restored)
                .setCoordinator(node.address()).setStepsComputed(stepsComputed).setLossSum(lossSum).setStalenessSum(stalenessSum)
                .setSamples(rowsComputed).setBytesReceived(bytesReceived).setBytesSent(bytesSent).setDeviceBusyMicros(deviceBusyMicros)
                .setErrors(errors);
        if (includeAdapters && spec != null) {
            for (Adapter a : adapters.values()) {
                b.addAdapters(wire.parameterUpdate(jobId, spec.getDeviceId(), a, version, nextStep - 1, 0));
            }
        }
        return b.build();
    }

    // ---- computing with the current version -------------------------------------------------------

    private void requireMergedDeltaShape(AdapterUpdate u) {
        if (merged == null) {
            throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "job " + jobId + " runs unmerged; send parameters, not a merged delta");
        }
        INDArray d = wire.decodeFinite(u.getMergedDelta(), "merged delta of layer " + u.getLayer());
        if (!java.util.Arrays.equals(d.shape(), model.weight(u.getLayer()).shape())) {
            throw new ProtocolException(ErrorCode.SHAPE_MISMATCH, "merged delta of layer " + u.getLayer() + " has shape "
                    + java.util.Arrays.toString(d.shape()) + ", the layer's weight " + java.util.Arrays.toString(model.weight(u.getLayer()).shape()));
        }
    }

    private void rebuildView() {
        if (group != null) {
            view = node.pool().groupView(spec.getBaseModel() + "/" + spec.getGroupId(), groupVersion, this::buildGroupView);
            return;
        }
        Map<String, SlotView> slots = new LinkedHashMap<>();
        for (Map.Entry<String, Adapter> e : adapters.entrySet()) {
            if (merged == null) {
                slots.put(e.getKey(), new SlotView.Unmerged(e.getValue().copy()));
            } else {
                Adapter a = e.getValue();
                INDArray db = a.deltaBias();
                INDArray bias = db == null ? model.bias(e.getKey()) : model.bias(e.getKey()).add(db.mul(a.spec().scaling()));
                slots.put(e.getKey(), new SlotView.Merged(merged.get(e.getKey()).merged(), bias));
            }
        }
        view = new ModelView(jobId + "@v" + version + (group == null ? "" : "/g" + groupVersion), slots);
    }

    /** W + alpha * the group's mean dW (and b + alpha * mean db) per layer; the base before the group's first version. */
    private ModelView buildGroupView() {
        Map<String, SlotView> slots = new LinkedHashMap<>();
        Map<String, AdapterUpdate> byLayer = new HashMap<>();
        groupApplied.forEach(u -> byLayer.put(u.getLayer(), u));
        for (Map.Entry<String, Adapter> e : adapters.entrySet()) {
            String layer = e.getKey();
            float scaling = e.getValue().spec().scaling();
            AdapterUpdate u = byLayer.get(layer);
            INDArray w = u == null ? model.weight(layer)
                    : org.colaedge.common.learning.Merging.merge(model.weight(layer), wire.decodeFinite(u.getMergedDelta(), "group delta of " + layer), scaling);
            INDArray bias = u == null || !u.hasMergedBiasDelta() ? model.bias(layer)
                    : model.bias(layer).add(wire.decodeFinite(u.getMergedBiasDelta(), "group bias delta of " + layer).mul(scaling));
            slots.put(layer, new SlotView.Merged(w, bias));
        }
        return new ModelView(spec.getGroupId() + "@g" + groupVersion, slots);
    }

    private void requireStarted() {
        if (spec == null) {
            throw new ProtocolException(ErrorCode.UNKNOWN_JOB, "job " + jobId + " has not been started: send its JobSpec first");
        }
    }

    private void reject(ActorRef<WireEnvelope> replyTo, ProtocolException ex, long step) {
        errors++;
        metrics.error(ex.code());
        getContext().getLog().warn("job {}: rejected ({} so far): {} {}", jobId, errors, ex.code(), ex.getMessage());
        replyTo.tell(new WireEnvelope(jobId, ex.toReply(jobId, spec == null ? "" : spec.getDeviceId(), step), getContext().getSelf().narrow()));
    }

    private static INDArray oneHot(INDArray classes, long k) {
        INDArray out = Nd4j.zeros(DataType.FLOAT, classes.size(0), k);
        for (int i = 0; i < classes.size(0); i++) {
            int c = classes.getInt(i);
            if (c < 0 || c >= k) {
                throw new IllegalArgumentException("label " + c + " of row " + i + " is not a class of a " + k + "-class model");
            }
            out.putScalar(i, c, 1f);
        }
        return out;
    }
}
