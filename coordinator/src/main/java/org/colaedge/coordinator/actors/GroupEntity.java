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
import org.colaedge.proto.v1.JobStatus;
import org.colaedge.proto.v1.MemberStatus;
import org.colaedge.proto.v1.StateRequest;
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
    /** The decoded parameters of {@link #partial}, so each update is decoded once. */
    private final Map<String, Map<String, Map<String, INDArray>>> partialParams = new HashMap<>();
    /**
     * Running sums per layer of w_k * dW_k and w_k * db_k over the members (w_k: the samples member k's
     * adapters rest on), and of w_k: a contribution updates them in O(parameters) instead of
     * re-averaging every member. Recomputed exactly every {@link #EXACT_EVERY} versions.
     */
    private final Map<String, INDArray[]> sums = new HashMap<>();
    private double totalWeight;
    private static final int EXACT_EVERY = 64;
    /** Synchronous groups: each member's contributed versions, and the members that sent their final one. */
    private boolean synchronous;
    private final Map<String, Long> memberRounds = new HashMap<>();
    /** Members that stated their training-set size: a fixed weight in the mean. */
    private final Map<String, Long> fixedWeights = new HashMap<>();
    private final Set<String> finishedMembers = new HashSet<>();
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
            } else if (e.payload() instanceof StateRequest r) {
                onStateRequest(r, e.replyTo());
            } else {
                throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "group " + groupId
                        + " takes JobSpec, AdapterUpdate, MemberStatus and StateRequest");
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
            synchronous = s.getSynchronous();
        } else if (!shape.getBaseModel().equals(s.getBaseModel()) || shape.getAdaptersCount() != s.getAdaptersCount()) {
            throw new ProtocolException(ErrorCode.SHAPE_MISMATCH, "job " + job + " does not fit group " + groupId + " (other base or adapters)");
        }
        if (!memberAdapters.containsKey(job)) {
            memberAdapters.put(job, adapters(s));
            memberSamples.put(job, 0L);
            memberRounds.put(job, 0L);
        }
        if (s.getDataSamples() > 0 && !Long.valueOf(s.getDataSamples()).equals(fixedWeights.get(job))) {
            fixedWeights.put(job, s.getDataSamples());
            sums.clear(); // the member's weight changed: recomputed when next needed
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
        Map<String, INDArray> decoded = wire.decodeParameters(a, u.getParameters()); // validated before keeping
        Map<String, AdapterUpdate> p = partial.computeIfAbsent(job, k -> new HashMap<>());
        Map<String, Map<String, INDArray>> pp = partialParams.computeIfAbsent(job, k -> new HashMap<>());
        if (!p.isEmpty() && p.values().iterator().next().getVersion() != u.getVersion()) {
            p.clear();
            pp.clear();
        }
        p.put(u.getLayer(), u);
        pp.put(u.getLayer(), decoded);
        if (p.size() < adapters.size()) {
            return;
        }
        long samples = 0;
        for (AdapterUpdate lu : p.values()) {
            samples = Math.max(samples, lu.getSamples());
        }
        double before = weight(job);
        memberSamples.merge(job, samples, Long::sum);
        double after = weight(job);
        for (Map.Entry<String, Map<String, INDArray>> e : pp.entrySet()) {
            Adapter target = adapters.get(e.getKey());
            INDArray[] sum = sums.get(e.getKey());
            if (sum != null && before > 0) {
                accumulate(sum, target, -before);
            }
            e.getValue().forEach(target::setParam);
            if (sum != null) {
                accumulate(sum, target, after);
            }
        }
        p.clear();
        pp.clear();
        totalWeight += after - before;
        memberRounds.merge(job, 1L, Long::sum);
        if (u.getFinalVersion()) {
            finishedMembers.add(job);
        }
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

    /**
     * Publishes a new version: the next one, or in a synchronous group the round every member still
     * training has contributed to (nothing while a member lags behind).
     */
    private void publish() {
        long next = version + 1;
        if (synchronous) {
            next = memberRounds.entrySet().stream().filter(m -> !finishedMembers.contains(m.getKey()))
                    .mapToLong(Map.Entry::getValue).min().orElse(memberRounds.values().stream().mapToLong(Long::longValue).max().orElse(0));
            if (next <= version) {
                return;
            }
        }
        withheld = false;
        version = next;
        if (synchronous || sums.isEmpty() || version % EXACT_EVERY == 0) {
            recomputeSums(); // synchronous: exactly, in member order, whatever order the round's contributions came in
        }
        metrics.increment("groups.versions-published");
        broadcastTo(new ArrayList<>(members.values()));
    }

    /**
     * A member's weight in the mean: its training-set size if its JobSpec stated one (so the shared
     * model is sum_k n_k dW_k / N at every moment, however far each member has got), else the
     * samples its contributions rest on so far.
     */
    private double weight(String job) {
        Long fixed = fixedWeights.get(job);
        return fixed != null ? fixed : memberSamples.get(job);
    }

    /** sum += w * (dW, db) of {@code a}, in place. */
    private static void accumulate(INDArray[] sum, Adapter a, double w) {
        org.nd4j.linalg.factory.Nd4j.getBlasWrapper().level1().axpy(sum[0].length(), w, a.deltaWeight(), sum[0]);
        INDArray db = a.deltaBias();
        if (db != null && sum[1] != null) {
            org.nd4j.linalg.factory.Nd4j.getBlasWrapper().level1().axpy(sum[1].length(), w, db, sum[1]);
        }
    }

    /** The running sums from scratch, members in id order (bounds the rounding drift of the in-place updates). */
    private void recomputeSums() {
        sums.clear();
        totalWeight = 0;
        for (Map.Entry<String, Map<String, Adapter>> m : new java.util.TreeMap<>(memberAdapters).entrySet()) {
            double w = weight(m.getKey());
            totalWeight += w;
            for (Map.Entry<String, Adapter> e : m.getValue().entrySet()) {
                Adapter a = e.getValue();
                INDArray[] sum = sums.computeIfAbsent(e.getKey(), k -> new INDArray[] {
                    org.nd4j.linalg.factory.Nd4j.zeros(a.deltaWeight().dataType(), a.deltaWeight().shape()),
                    a.deltaBias() == null ? null : org.nd4j.linalg.factory.Nd4j.zeros(a.deltaBias().dataType(), a.deltaBias().shape())});
                if (w > 0) {
                    accumulate(sum, a, w);
                }
            }
        }
    }

    /** The group's version, the samples its mean rests on and, if asked, that mean per layer. */
    private void onStateRequest(StateRequest r, ActorRef<WireEnvelope> replyTo) {
        var b = JobStatus.newBuilder().setJobId(groupId).setStarted(shape != null).setAdapterVersion(version)
                .setSamples(memberSamples.values().stream().mapToLong(Long::longValue).sum()).setCoordinator(getContext().getSelf().path().address().toString());
        if (r.getIncludeAdapters() && !memberAdapters.isEmpty()) {
            b.addAllAdapters(meanUpdates());
        }
        replyTo.tell(new WireEnvelope(groupId, b.build(), getContext().getSelf().narrow()));
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
        for (AdapterUpdate msg : meanUpdates()) {
            for (ActorRef<WireEnvelope> t : targets) {
                t.tell(new WireEnvelope(groupId, msg, getContext().getSelf().narrow()));
            }
        }
    }

    /**
     * The sample-weighted mean dW (and bias delta) of every layer, as merged-delta updates of
     * version {@code version}; the plain mean while no member has reported samples.
     */
    private List<AdapterUpdate> meanUpdates() {
        if (sums.isEmpty()) {
            recomputeSums();
        }
        List<AdapterUpdate> out = new ArrayList<>();
        for (String layer : memberAdapters.values().iterator().next().keySet()) {
            INDArray dW;
            INDArray dB;
            if (totalWeight > 0) {
                INDArray[] sum = sums.get(layer);
                dW = sum[0].div(totalWeight);
                dB = sum[1] == null ? null : sum[1].div(totalWeight);
            } else {
                List<INDArray> dWs = new ArrayList<>();
                List<INDArray> dBs = new ArrayList<>();
                for (Map<String, Adapter> m : memberAdapters.values()) {
                    dWs.add(m.get(layer).deltaWeight());
                    if (m.get(layer).deltaBias() != null) {
                        dBs.add(m.get(layer).deltaBias());
                    }
                }
                dW = Merging.mean(dWs);
                dB = dBs.isEmpty() ? null : Merging.mean(dBs);
            }
            AdapterUpdate.Builder b = AdapterUpdate.newBuilder().setJobId(groupId).setLayer(layer).setVersion(version)
                    .setMergedDelta(wire.codec().encode(dW));
            if (dB != null) {
                b.setMergedBiasDelta(wire.codec().encode(dB));
            }
            out.add(b.build());
        }
        return out;
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
        s.getMembersList().forEach(m -> memberRounds.put(m.getJobId(), 0L));
        sums.clear(); // recomputed from the restored members when next needed
        metrics.increment("snapshots.restored");
        getContext().getLog().info("group {}: restored from its snapshot at version {} with {} members", groupId, version, restored.size());
    }

    private void corruptSnapshot(SnapshotStore.CorruptSnapshotException ex) {
        metrics.increment("snapshots.corrupt");
        getContext().getLog().error("group {}: {}; the group starts without it and its members join again", groupId, ex.getMessage());
    }
}
