package org.colaedge.coordinator.actors;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.adapter.Adapters;
import org.colaedge.common.cluster.WireEnvelope;
import org.colaedge.common.learning.Merging;
import org.colaedge.common.metrics.ColaMetrics;
import org.colaedge.common.wire.ProtocolException;
import org.colaedge.common.wire.WireMapping;
import org.colaedge.coordinator.snapshot.SnapshotStore;
import org.colaedge.proto.v1.AdapterUpdate;
import org.colaedge.proto.v1.ErrorCode;
import org.colaedge.proto.v1.ErrorReply;
import org.colaedge.proto.v1.GroupMemberSnapshot;
import org.colaedge.proto.v1.GroupSnapshot;
import org.colaedge.proto.v1.JobSpec;
import org.colaedge.proto.v1.MemberStatus;
import org.colaedge.proto.v1.NamedTensor;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A collaboration group ("col" mode), a Cluster Sharding entity: member jobs join with their
 * {@code JobSpec} and forward every complete adapter version of their device with the samples it
 * was trained on. After each, the group computes the sample-weighted mean of the members' dW (and
 * bias deltas) per layer, bumps its version and sends it to every member as merged-delta
 * {@code AdapterUpdate}s; members compute with W + alpha * mean dW.
 *
 * <p>A member whose device is away under policy "pause" says so ({@code MemberStatus{away}}): the
 * group then keeps taking contributions but publishes no new version until that member is back or
 * {@code device-away.timeout} passes (a synchronous group waits for its straggler); the away
 * member's last contribution stays in the mean. The group snapshots its members' adapters, sample
 * counts and version (a {@code GroupSnapshot}) and restores them on start.
 */
public final class GroupEntity extends AbstractBehavior<Object> {

    public static final EntityTypeKey<WireEnvelope> TYPE_KEY = EntityTypeKey.create(WireEnvelope.class, "ColaGroup");

    private record AwayTimeout(String job) { }

    private final String groupId;
    private final WireMapping wire;
    private final CoordinatorSettings settings;
    private final SnapshotStore snapshots;
    private final TimerScheduler<Object> timers;
    private final ColaMetrics metrics;
    private final Map<String, ActorRef<WireEnvelope>> members = new LinkedHashMap<>();
    private final Map<String, Map<String, Adapter>> memberAdapters = new LinkedHashMap<>();
    private final Map<String, Long> memberSamples = new HashMap<>();
    private final Map<String, Map<String, AdapterUpdate>> partial = new HashMap<>();
    private final Set<String> away = new HashSet<>();
    private JobSpec shape;
    private long version;
    /** Contributions taken while a member was away, not yet published. */
    private boolean withheld;
    private long changes;
    private long snapshotAt;
    private boolean restoreTried;

    public static Behavior<WireEnvelope> create(String groupId, WireMapping wire, CoordinatorSettings settings, SnapshotStore snapshots) {
        return Behaviors.<Object>setup(ctx -> Behaviors.withTimers(timers -> new GroupEntity(ctx, timers, groupId, wire, settings, snapshots)))
                .narrow();
    }

    private GroupEntity(ActorContext<Object> context, TimerScheduler<Object> timers, String groupId, WireMapping wire,
                        CoordinatorSettings settings, SnapshotStore snapshots) {
        super(context);
        this.timers = timers;
        this.groupId = groupId;
        this.wire = wire;
        this.settings = settings;
        this.snapshots = snapshots;
        this.metrics = ColaMetrics.get(context.getSystem());
    }

    @Override
    public Receive<Object> createReceive() {
        return newReceiveBuilder()
                .onMessage(WireEnvelope.class, this::onEnvelope)
                .onMessage(AwayTimeout.class, this::onAwayTimeout)
                .build();
    }

    private Behavior<Object> onEnvelope(WireEnvelope e) {
        if (shape == null && !restoreTried) {
            restore();
        }
        try {
            if (e.payload() instanceof ErrorReply error) {
                // never answer an error with an error
                getContext().getLog().warn("group {}: error from {}: {} {}", groupId, e.senderId(), error.getCode(), error.getMessage());
            } else if (e.payload() instanceof JobSpec s) {
                join(e.senderId(), s, e.replyTo());
            } else if (e.payload() instanceof AdapterUpdate u) {
                contribute(e.senderId(), u, e.replyTo());
            } else if (e.payload() instanceof MemberStatus m) {
                onMemberStatus(m);
            } else {
                throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "group " + groupId + " takes JobSpec, AdapterUpdate and MemberStatus");
            }
        } catch (RuntimeException ex) {
            ProtocolException pe = ex instanceof ProtocolException p ? p : new ProtocolException(ErrorCode.MALFORMED_MESSAGE, ex.getMessage(), ex);
            metrics.error(pe.code());
            getContext().getLog().warn("group {}: rejected from {}: {} {}", groupId, e.senderId(), pe.code(), pe.getMessage());
            e.replyTo().tell(new WireEnvelope(groupId, pe.toReply("", "", -1), getContext().getSelf().narrow()));
        }
        return this;
    }

    private void join(String job, JobSpec s, ActorRef<WireEnvelope> ref) {
        JobSpec adaptersOnly = JobSpec.newBuilder().setBaseModel(s.getBaseModel()).addAllAdapters(s.getAdaptersList()).setMerged(true).build();
        if (shape == null) {
            shape = adaptersOnly;
        } else if (!shape.getBaseModel().equals(s.getBaseModel()) || shape.getAdaptersCount() != s.getAdaptersCount()) {
            throw new ProtocolException(ErrorCode.SHAPE_MISMATCH, "job " + job + " does not fit group " + groupId + " (other base or adapters)");
        }
        if (!memberAdapters.containsKey(job)) {
            memberAdapters.put(job, adapters(s));
            memberSamples.put(job, 0L);
        }
        members.put(job, ref);
        if (version > 0) {
            broadcastTo(List.of(ref)); // a late or re-joining member gets the current shared model
        }
    }

    private Map<String, Adapter> adapters(JobSpec s) {
        Map<String, Adapter> a = new LinkedHashMap<>();
        for (var p : s.getAdaptersList()) {
            Adapter ad = Adapters.create(WireMapping.fromProto(p));
            if (!ad.mergeable()) {
                throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "group " + groupId + ": " + ad.kind() + " adapters cannot be merged");
            }
            a.put(ad.layer(), ad);
        }
        return a;
    }

    private void contribute(String job, AdapterUpdate u, ActorRef<WireEnvelope> ref) {
        Map<String, Adapter> adapters = memberAdapters.get(job);
        if (adapters == null) {
            throw new ProtocolException(ErrorCode.UNKNOWN_JOB, "job " + job + " has not joined group " + groupId);
        }
        Adapter a = adapters.get(u.getLayer());
        if (a == null) {
            throw new ProtocolException(ErrorCode.SHAPE_MISMATCH, "group " + groupId + " has no layer '" + u.getLayer() + "'");
        }
        members.put(job, ref); // a member restored from a snapshot is reachable again
        wire.decodeParameters(a, u.getParameters()); // validate before keeping
        Map<String, AdapterUpdate> p = partial.computeIfAbsent(job, k -> new HashMap<>());
        if (!p.isEmpty() && p.values().iterator().next().getVersion() != u.getVersion()) {
            p.clear();
        }
        p.put(u.getLayer(), u);
        if (p.size() < adapters.size()) {
            return;
        }
        long samples = 0;
        for (AdapterUpdate lu : p.values()) {
            wire.decodeParameters(adapters.get(lu.getLayer()), lu.getParameters()).forEach(adapters.get(lu.getLayer())::setParam);
            samples = Math.max(samples, lu.getSamples());
        }
        p.clear();
        memberSamples.merge(job, samples, Long::sum);
        metrics.increment("groups.contributions");
        changes++;
        if (away.isEmpty()) {
            publish();
        } else {
            withheld = true;
            metrics.increment("groups.versions-withheld");
        }
        if (changes - snapshotAt >= settings.snapshotEvery()) {
            writeSnapshot();
        }
    }

    private void publish() {
        withheld = false;
        version++;
        metrics.increment("groups.versions-published");
        broadcastTo(new ArrayList<>(members.values()));
    }

    private void onMemberStatus(MemberStatus m) {
        if (!memberAdapters.containsKey(m.getJobId())) {
            throw new ProtocolException(ErrorCode.UNKNOWN_JOB, "job " + m.getJobId() + " has not joined group " + groupId);
        }
        if (m.getAway()) {
            if (away.add(m.getJobId())) {
                metrics.increment("groups.members-away");
                getContext().getLog().info("group {}: member {} is away; publishing no new version until it is back or {} pass", groupId,
                        m.getJobId(), settings.deviceAwayTimeout());
            }
            timers.startSingleTimer(new AwayTimeout(m.getJobId()), new AwayTimeout(m.getJobId()), settings.deviceAwayTimeout());
        } else {
            timers.cancel(new AwayTimeout(m.getJobId()));
            if (away.remove(m.getJobId())) {
                getContext().getLog().info("group {}: member {} is back", groupId, m.getJobId());
            }
            releaseIfNoneAway();
        }
    }

    private Behavior<Object> onAwayTimeout(AwayTimeout t) {
        if (away.remove(t.job())) {
            getContext().getLog().info("group {}: member {} stayed away for {}; going on without it (its last contribution stays)", groupId,
                    t.job(), settings.deviceAwayTimeout());
            releaseIfNoneAway();
        }
        return this;
    }

    private void releaseIfNoneAway() {
        if (away.isEmpty() && withheld) {
            publish();
            writeSnapshot();
        }
    }

    /** Sends the sample-weighted mean dW (and bias delta) of every layer, as group version {@code version}. */
    private void broadcastTo(List<ActorRef<WireEnvelope>> targets) {
        List<String> jobs = new ArrayList<>(memberAdapters.keySet());
        double[] weights = new double[jobs.size()];
        boolean none = true;
        for (int i = 0; i < weights.length; i++) {
            weights[i] = memberSamples.get(jobs.get(i));
            none &= weights[i] == 0;
        }
        if (none) {
            java.util.Arrays.fill(weights, 1);
        }
        for (String layer : memberAdapters.get(jobs.get(0)).keySet()) {
            List<INDArray> dW = new ArrayList<>();
            List<INDArray> dB = new ArrayList<>();
            for (String j : jobs) {
                Adapter a = memberAdapters.get(j).get(layer);
                dW.add(a.deltaWeight());
                if (a.deltaBias() != null) {
                    dB.add(a.deltaBias());
                }
            }
            AdapterUpdate.Builder b = AdapterUpdate.newBuilder().setJobId(groupId).setLayer(layer).setVersion(version)
                    .setMergedDelta(wire.codec().encode(Merging.weightedMean(dW, weights)));
            if (!dB.isEmpty()) {
                b.setMergedBiasDelta(wire.codec().encode(Merging.weightedMean(dB, weights)));
            }
            AdapterUpdate msg = b.build();
            for (ActorRef<WireEnvelope> t : targets) {
                t.tell(new WireEnvelope(groupId, msg, getContext().getSelf().narrow()));
            }
        }
    }

    // ---- snapshots --------------------------------------------------------------------------------

    private void writeSnapshot() {
        if (!snapshots.enabled() || shape == null) {
            return;
        }
        GroupSnapshot.Builder b = GroupSnapshot.newBuilder().setGroupId(groupId).setShape(shape).setVersion(version);
        for (Map.Entry<String, Map<String, Adapter>> m : memberAdapters.entrySet()) {
            GroupMemberSnapshot.Builder mb = GroupMemberSnapshot.newBuilder().setJobId(m.getKey()).setSamples(memberSamples.get(m.getKey()));
            for (Adapter a : m.getValue().values()) {
                a.paramViews().forEach((name, v) -> mb.addParameters(NamedTensor.newBuilder().setName(a.layer() + "/" + name)
                        .setTensor(wire.codec().encode(v))));
            }
            b.addMembers(mb);
        }
        try {
            snapshots.write(SnapshotStore.GROUP, groupId, b.build());
            snapshotAt = changes;
            metrics.increment("snapshots.written");
        } catch (IOException | RuntimeException ex) {
            metrics.increment("snapshots.failed");
            getContext().getLog().error("group {}: snapshot of version {} not written: {}", groupId, version, ex.toString());
        }
    }

    private void restore() {
        restoreTried = true;
        GroupSnapshot s;
        try {
            s = snapshots.read(SnapshotStore.GROUP, groupId).orElse(null);
        } catch (SnapshotStore.CorruptSnapshotException ex) {
            corruptSnapshot(ex);
            return;
        }
        if (s == null) {
            return;
        }
        Map<String, Map<String, Adapter>> restored = new LinkedHashMap<>();
        try {
            for (GroupMemberSnapshot m : s.getMembersList()) {
                Map<String, Adapter> a = adapters(s.getShape());
                Map<String, NamedTensor> byName = new HashMap<>();
                m.getParametersList().forEach(t -> byName.put(t.getName(), t));
                for (Adapter ad : a.values()) {
                    for (String name : ad.paramShapes().keySet()) {
                        NamedTensor t = byName.get(ad.layer() + "/" + name);
                        if (t == null) {
                            throw new IllegalArgumentException("member " + m.getJobId() + " lacks parameter " + ad.layer() + "/" + name);
                        }
                        INDArray v = wire.decodeFinite(t.getTensor(), "parameter " + t.getName() + " of member " + m.getJobId());
                        if (!java.util.Arrays.equals(v.shape(), ad.paramShapes().get(name))) {
                            throw new IllegalArgumentException("parameter " + t.getName() + " of member " + m.getJobId() + " has another shape");
                        }
                        ad.setParam(name, v);
                    }
                }
                restored.put(m.getJobId(), a);
            }
        } catch (RuntimeException ex) {
            corruptSnapshot(snapshots.setAside(SnapshotStore.GROUP, groupId, ex.getMessage(), ex));
            return;
        }
        shape = s.getShape();
        version = s.getVersion();
        memberAdapters.putAll(restored);
        s.getMembersList().forEach(m -> memberSamples.put(m.getJobId(), m.getSamples()));
        metrics.increment("snapshots.restored");
        getContext().getLog().info("group {}: restored from its snapshot at version {} with {} members", groupId, version, restored.size());
    }

    private void corruptSnapshot(SnapshotStore.CorruptSnapshotException ex) {
        metrics.increment("snapshots.corrupt");
        getContext().getLog().error("group {}: {}; the group starts without it and its members join again", groupId, ex.getMessage());
    }
}
