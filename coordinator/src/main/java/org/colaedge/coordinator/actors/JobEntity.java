package org.colaedge.coordinator.actors;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.adapter.AdapterSpec;
import org.colaedge.common.adapter.Adapters;
import org.colaedge.common.cluster.WireEnvelope;
import org.colaedge.common.cluster.WireTypes;
import org.colaedge.common.learning.MergedWeight;
import org.colaedge.common.wire.ProtocolException;
import org.colaedge.common.wire.WireMapping;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.model.ModelView;
import org.colaedge.coordinator.model.SlotView;
import org.colaedge.proto.v1.AdapterUpdate;
import org.colaedge.proto.v1.DType;
import org.colaedge.proto.v1.DeviceHello;
import org.colaedge.proto.v1.DeviceRegistered;
import org.colaedge.proto.v1.ErrorCode;
import org.colaedge.proto.v1.ErrorReply;
import org.colaedge.proto.v1.HiddenGradients;
import org.colaedge.proto.v1.JobSpec;
import org.colaedge.proto.v1.JobStarted;
import org.colaedge.proto.v1.JobStatus;
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
 * next update arrives. Bad input gets an {@code ErrorReply} and is counted; nothing crashes it.
 */
public final class JobEntity extends AbstractBehavior<Object> {

    public static final EntityTypeKey<WireEnvelope> TYPE_KEY = EntityTypeKey.create(WireEnvelope.class, "ColaJob");

    /** What a compute request carries through the batcher and back. */
    private record Token(TrainingBatch batch, ActorRef<WireEnvelope> replyTo, long attachment) { }

    private record Pending(TrainingBatch batch, ActorRef<WireEnvelope> replyTo) { }

    private final String jobId;
    private final ComputePool pool;
    private final Map<String, ActorRef<ModelBatcher.Command>> batchers;
    private final WireMapping wire;
    private final int maxPending;
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
    /** Bumped whenever the device (re-)attaches: results computed for an earlier attachment are dropped. */
    private long attachment;
    /** Collaboration: the group entity, the group's mean deltas per layer, their version, samples since the last update. */
    private final java.util.function.Function<String, org.apache.pekko.actor.typed.RecipientRef<WireEnvelope>> groups;
    private org.apache.pekko.actor.typed.RecipientRef<WireEnvelope> group;
    private final Map<String, AdapterUpdate> groupPartial = new HashMap<>();
    /** The group's latest complete version: its merged-delta updates, one per layer, decoded only when a view is built. */
    private List<AdapterUpdate> groupUpdates = List.of();
    private long groupVersion;
    private long samplesSinceUpdate;
    private final java.util.List<AdapterUpdate> lastContribution = new java.util.ArrayList<>();
    /** Running totals for {@code JobStatus}. */
    private long stepsComputed;
    private double lossSum;
    private long stalenessSum;
    private long rowsComputed;
    private long bytesReceived;
    private long bytesSent;
    private long deviceBusyMicros;

    /**
     * @param pool     the node's base models (for set-up)
     * @param batchers the node's {@link ModelBatcher} per base model, which compute the steps
     */
    public static Behavior<WireEnvelope> create(String jobId, ComputePool pool, Map<String, ActorRef<ModelBatcher.Command>> batchers,
                                                WireMapping wire, int maxPending,
                                                java.util.function.Function<String, org.apache.pekko.actor.typed.RecipientRef<WireEnvelope>> groups) {
        return Behaviors.<Object>setup(ctx -> new JobEntity(ctx, jobId, pool, batchers, wire, maxPending, groups)).narrow();
    }

    private JobEntity(ActorContext<Object> context, String jobId, ComputePool pool, Map<String, ActorRef<ModelBatcher.Command>> batchers,
                      WireMapping wire, int maxPending,
                      java.util.function.Function<String, org.apache.pekko.actor.typed.RecipientRef<WireEnvelope>> groups) {
        super(context);
        this.groups = groups;
        this.jobId = jobId;
        this.pool = pool;
        this.batchers = batchers;
        this.wire = wire;
        this.maxPending = maxPending;
    }

    @Override
    public Receive<Object> createReceive() {
        return newReceiveBuilder()
                .onMessage(WireEnvelope.class, this::onEnvelope)
                .onMessage(ModelBatcher.Computed.class, this::onComputed)
                .build();
    }

    private Behavior<Object> onEnvelope(WireEnvelope e) {
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
                onStateRequest(r, e.replyTo());
            } else {
                throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "job " + jobId + " takes DeviceHello, JobSpec, TrainingBatch, AdapterUpdate or StateRequest, not "
                        + WireTypes.typeName(e.payload()));
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
            for (AdapterUpdate u : lastContribution) {
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
        replyTo.tell(new WireEnvelope(jobId, DeviceRegistered.newBuilder().setDeviceId(hello.getDeviceId())
                .setProtocolVersion(WireMapping.PROTOCOL_VERSION).setCoordinatorId(getContext().getSelf().path().address().toString()).build(),
                getContext().getSelf().narrow()));
    }

    private void onStart(JobSpec s, ActorRef<WireEnvelope> replyTo) {
        JobSpec base = s.toBuilder().setJobId(jobId).clearResumeStep().clearDeviceVersion().build();
        if (spec != null) {
            if (!spec.equals(base)) {
                throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "job " + jobId + " already runs with another spec");
            }
        } else {
            BaseModel m = pool.model(s.getBaseModel());
            Map<String, Adapter> a = new LinkedHashMap<>();
            for (org.colaedge.proto.v1.AdapterSpec p : s.getAdaptersList()) {
                AdapterSpec as = WireMapping.fromProto(p);
                m.slot(as.layer());
                a.put(as.layer(), Adapters.create(as));
            }
            if (a.isEmpty()) {
                throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "job " + jobId + ": a job needs at least one adapter");
            }
            this.spec = base;
            this.model = m;
            this.adapters = a;
            this.interval = Math.max(1, s.getInterval());
            if (!s.getGroupId().isEmpty()) {
                if (!s.getMerged()) {
                    throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "job " + jobId + ": collaboration merges the group's mean dW; set merged");
                }
                group = groups.apply(s.getGroupId());
            }
            if (s.getMerged() && group == null) { // a group member computes with the group's shared model instead
                merged = new LinkedHashMap<>();
                a.forEach((layer, adapter) -> merged.put(layer, new MergedWeight(m.weight(layer), adapter.spec().scaling())));
            }
            viewStale = true;
            getContext().getLog().info("job {}: started on {} with {} adapters, I={}, {}{}", jobId, s.getBaseModel(), a.size(), interval,
                    s.getMerged() ? "merged" : "unmerged", group == null ? "" : ", group " + s.getGroupId());
        }
        if (group != null) {
            group.tell(new WireEnvelope(jobId, spec, getContext().getSelf().narrow()));
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
        replyTo.tell(new WireEnvelope(jobId, JobStarted.newBuilder().setJobId(jobId).setAdapterVersion(version).setNextStep(nextStep).build(),
                getContext().getSelf().narrow()));
    }

    private void onBatch(TrainingBatch b, ActorRef<WireEnvelope> replyTo) {
        requireStarted();
        bytesReceived += b.getSerializedSize();
        deviceBusyMicros = Math.max(deviceBusyMicros, b.getDeviceBusyMicros());
        if (!b.getDeviceId().equals(spec.getDeviceId())) {
            throw new ProtocolException(ErrorCode.UNKNOWN_DEVICE, "job " + jobId + " belongs to device '" + spec.getDeviceId()
                    + "', not '" + b.getDeviceId() + "'");
        }
        long expected = nextStep + pending.size() + (computing ? 1 : 0);
        if (b.getStep() < expected) {
            return; // a re-sent batch that is already computed or queued: idempotent
        }
        if (b.getStep() > expected) {
            throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "job " + jobId + ": expected step " + expected + ", got " + b.getStep());
        }
        if (pending.size() >= maxPending) {
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
        if (viewStale) {
            try {
                rebuildView();
            } catch (RuntimeException ex) { // a bad group or device update: keep computing with the last good view
                errors++;
                getContext().getLog().warn("job {}: could not build the new adapter view, keeping the previous one: {}", jobId, ex.getMessage());
            }
            viewStale = false;
        }
        batchers.get(spec.getBaseModel()).tell(new ModelBatcher.Compute(input, oneHot, view, new Token(p.batch(), p.replyTo(), attachment),
                getContext().getSelf().narrow()));
    }

    private Behavior<Object> onComputed(ModelBatcher.Computed c) {
        Token t = (Token) c.token();
        if (t.attachment() != attachment) {
            return this; // computed for a device session that has since re-attached
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
        Adapter a = adapters.get(u.getLayer());
        if (a == null) {
            throw new ProtocolException(ErrorCode.SHAPE_MISMATCH, "job " + jobId + " has no adapter on layer '" + u.getLayer() + "'");
        }
        if (u.getVersion() <= version) {
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
        // Validate before keeping it, so that a bad layer update never half-applies a version.
        if (u.hasParameters()) {
            partialParams.put(u.getLayer(), wire.decodeParameters(a, u.getParameters()));
        } else if (u.hasMergedDelta()) {
            requireMergedDeltaShape(u);
        } else {
            throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "update of layer " + u.getLayer() + " carries neither parameters nor a merged delta");
        }
        partialUpdate.put(u.getLayer(), u);
        if (partialUpdate.size() < adapters.size()) {
            return;
        }
        for (AdapterUpdate lu : partialUpdate.values()) {
            Adapter target = adapters.get(lu.getLayer());
            if (lu.hasParameters()) {
                partialParams.get(lu.getLayer()).forEach(target::setParam);
                if (merged != null && group == null) { // in a group the job computes with the group's mean, not its own merge
                    merged.get(lu.getLayer()).apply(target.deltaWeight());
                }
            } else {
                merged.get(lu.getLayer()).apply(wire.decodeFinite(lu.getMergedDelta(), "merged delta of layer " + lu.getLayer()));
            }
        }
        if (group != null) {
            // Contribute the device's new version to the group, weighted by the samples it rests on.
            lastContribution.clear();
            for (AdapterUpdate lu : partialUpdate.values()) {
                AdapterUpdate contribution = lu.toBuilder().setSamples(samplesSinceUpdate).build();
                lastContribution.add(contribution);
                group.tell(new WireEnvelope(jobId, contribution, getContext().getSelf().narrow()));
            }
            samplesSinceUpdate = 0;
        }
        version = u.getVersion();
        partialUpdate.clear();
        partialParams.clear();
        computedWithVersion = 0;
        viewStale = true;
        tryCompute();
    }

    /** The group's new mean: applied when every layer of its version has arrived. */
    private void onGroupUpdate(AdapterUpdate u) {
        if (u.getVersion() <= groupVersion) {
            return;
        }
        if (!groupPartial.isEmpty() && groupPartial.values().iterator().next().getVersion() != u.getVersion()) {
            groupPartial.clear();
        }
        Adapter a = adapters.get(u.getLayer());
        if (a == null || !u.hasMergedDelta()
                || !java.util.Arrays.equals(u.getMergedDelta().getShapeList().stream().mapToLong(Long::longValue).toArray(),
                        model.weight(u.getLayer()).shape())) {
            throw new ProtocolException(ErrorCode.SHAPE_MISMATCH, "group update of layer " + u.getLayer() + " does not fit job " + jobId);
        }
        groupPartial.put(u.getLayer(), u);
        if (groupPartial.size() < adapters.size()) {
            return;
        }
        groupUpdates = List.copyOf(groupPartial.values());
        groupVersion = u.getVersion();
        groupPartial.clear();
        viewStale = true;
        tryCompute(); // a synchronous group's new round may be what this job waits for
    }

    /** Where the job stands, with its running totals; with include_adapters, also its adapters' parameters. */
    private void onStateRequest(StateRequest r, ActorRef<WireEnvelope> replyTo) {
        JobStatus.Builder b = JobStatus.newBuilder().setJobId(jobId).setStarted(spec != null);
        if (spec != null) {
            b.setAdapterVersion(version).setNextStep(nextStep).setGroupVersion(groupVersion).setStepsComputed(stepsComputed)
                    .setLossSum(lossSum).setStalenessSum(stalenessSum).setSamples(rowsComputed).setBytesReceived(bytesReceived)
                    .setBytesSent(bytesSent).setDeviceBusyMicros(deviceBusyMicros).setErrors(errors);
            if (r.getIncludeAdapters()) {
                for (Adapter a : adapters.values()) {
                    b.addAdapters(wire.parameterUpdate(jobId, spec.getDeviceId(), a, version, nextStep - 1, 0));
                }
            }
        }
        replyTo.tell(new WireEnvelope(jobId, b.build(), getContext().getSelf().narrow()));
    }

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
            view = pool.groupView(spec.getBaseModel() + "/" + spec.getGroupId(), groupVersion, this::buildGroupView);
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
        groupUpdates.forEach(u -> byLayer.put(u.getLayer(), u));
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
