package org.colaedge.coordinator.actors;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.adapter.Adapters;
import org.colaedge.common.cluster.WireEnvelope;
import org.colaedge.common.learning.Merging;
import org.colaedge.common.wire.ProtocolException;
import org.colaedge.common.wire.WireMapping;
import org.colaedge.proto.v1.AdapterUpdate;
import org.colaedge.proto.v1.ErrorCode;
import org.colaedge.proto.v1.JobSpec;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A collaboration group ("col" mode), a Cluster Sharding entity: member jobs join with their
 * {@code JobSpec} and forward every complete adapter version of their device with the samples it
 * was trained on. After each, the group computes the sample-weighted mean of the members' dW (and
 * bias deltas) per layer, bumps its version and sends it to every member as merged-delta
 * {@code AdapterUpdate}s; members compute with W + alpha * mean dW.
 */
public final class GroupEntity extends AbstractBehavior<WireEnvelope> {

    public static final EntityTypeKey<WireEnvelope> TYPE_KEY = EntityTypeKey.create(WireEnvelope.class, "ColaGroup");

    private final String groupId;
    private final WireMapping wire;
    private final Map<String, ActorRef<WireEnvelope>> members = new LinkedHashMap<>();
    private final Map<String, Map<String, Adapter>> memberAdapters = new HashMap<>();
    private final Map<String, Long> memberSamples = new HashMap<>();
    private final Map<String, Map<String, AdapterUpdate>> partial = new HashMap<>();
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
    private JobSpec shape;
    private long version;
    /** Synchronous groups: each member's contributed versions, and the members that sent their final one. */
    private boolean synchronous;
    private final Map<String, Long> memberRounds = new HashMap<>();
    private final java.util.Set<String> finishedMembers = new java.util.HashSet<>();

    public static Behavior<WireEnvelope> create(String groupId, WireMapping wire) {
        return Behaviors.setup(ctx -> new GroupEntity(ctx, groupId, wire));
    }

    private GroupEntity(ActorContext<WireEnvelope> context, String groupId, WireMapping wire) {
        super(context);
        this.groupId = groupId;
        this.wire = wire;
    }

    @Override
    public Receive<WireEnvelope> createReceive() {
        return newReceiveBuilder().onMessage(WireEnvelope.class, this::onEnvelope).build();
    }

    private Behavior<WireEnvelope> onEnvelope(WireEnvelope e) {
        try {
            if (e.payload() instanceof org.colaedge.proto.v1.ErrorReply error) {
                // never answer an error with an error
                getContext().getLog().warn("group {}: error from {}: {} {}", groupId, e.senderId(), error.getCode(), error.getMessage());
            } else if (e.payload() instanceof JobSpec s) {
                join(e.senderId(), s, e.replyTo());
            } else if (e.payload() instanceof AdapterUpdate u) {
                contribute(e.senderId(), u);
            } else if (e.payload() instanceof org.colaedge.proto.v1.StateRequest r) {
                onStateRequest(r, e.replyTo());
            } else {
                throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "group " + groupId + " takes JobSpec, AdapterUpdate and StateRequest");
            }
        } catch (RuntimeException ex) {
            ProtocolException pe = ex instanceof ProtocolException p ? p : new ProtocolException(ErrorCode.MALFORMED_MESSAGE, ex.getMessage(), ex);
            getContext().getLog().warn("group {}: rejected from {}: {} {}", groupId, e.senderId(), pe.code(), pe.getMessage());
            e.replyTo().tell(new WireEnvelope(groupId, pe.toReply("", "", -1), getContext().getSelf()));
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
        if (members.put(job, ref) == null) {
            Map<String, Adapter> a = new LinkedHashMap<>();
            for (var p : s.getAdaptersList()) {
                Adapter ad = Adapters.create(WireMapping.fromProto(p));
                if (!ad.mergeable()) {
                    throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "group " + groupId + ": " + ad.kind() + " adapters cannot be merged");
                }
                a.put(ad.layer(), ad);
            }
            memberAdapters.put(job, a);
            memberSamples.put(job, 0L);
            memberRounds.put(job, 0L);
        }
        if (version > 0) {
            broadcastTo(List.of(ref)); // a late or re-joining member gets the current shared model
        }
    }

    private void contribute(String job, AdapterUpdate u) {
        Map<String, Adapter> adapters = memberAdapters.get(job);
        if (adapters == null) {
            throw new ProtocolException(ErrorCode.UNKNOWN_JOB, "job " + job + " has not joined group " + groupId);
        }
        Adapter a = adapters.get(u.getLayer());
        if (a == null) {
            throw new ProtocolException(ErrorCode.SHAPE_MISMATCH, "group " + groupId + " has no layer '" + u.getLayer() + "'");
        }
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
        double before = memberSamples.get(job);
        double after = before + samples;
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
        memberSamples.put(job, (long) after);
        totalWeight += after - before;
        memberRounds.merge(job, 1L, Long::sum);
        if (u.getFinalVersion()) {
            finishedMembers.add(job);
        }
        long next = version + 1;
        if (synchronous) {
            // Round r is published once every member still training has contributed its version r.
            next = memberRounds.entrySet().stream().filter(m -> !finishedMembers.contains(m.getKey()))
                    .mapToLong(Map.Entry::getValue).min().orElse(memberRounds.values().stream().mapToLong(Long::longValue).max().orElse(0));
            if (next <= version) {
                return;
            }
        }
        version = next;
        if (synchronous || sums.isEmpty() || version % EXACT_EVERY == 0) {
            recomputeSums(); // synchronous: exactly, in member order, whatever order the round's contributions came in
        }
        broadcastTo(new ArrayList<>(members.values()));
    }

    /** sum += w * (dW, db) of {@code a}, in place. */
    private static void accumulate(INDArray[] sum, Adapter a, double w) {
        org.nd4j.linalg.factory.Nd4j.getBlasWrapper().level1().axpy(sum[0].length(), w, a.deltaWeight(), sum[0]);
        INDArray db = a.deltaBias();
        if (db != null && sum[1] != null) {
            org.nd4j.linalg.factory.Nd4j.getBlasWrapper().level1().axpy(sum[1].length(), w, db, sum[1]);
        }
    }

    /** The running sums from scratch (bounds the rounding drift of the in-place updates). */
    private void recomputeSums() {
        sums.clear();
        totalWeight = 0;
        for (Map.Entry<String, Map<String, Adapter>> m : new java.util.TreeMap<>(memberAdapters).entrySet()) {
            double w = memberSamples.get(m.getKey());
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
    private void onStateRequest(org.colaedge.proto.v1.StateRequest r, ActorRef<WireEnvelope> replyTo) {
        var b = org.colaedge.proto.v1.JobStatus.newBuilder().setJobId(groupId).setStarted(shape != null).setAdapterVersion(version)
                .setSamples(memberSamples.values().stream().mapToLong(Long::longValue).sum());
        if (r.getIncludeAdapters() && shape != null) {
            b.addAllAdapters(meanUpdates());
        }
        replyTo.tell(new WireEnvelope(groupId, b.build(), getContext().getSelf()));
    }

    /** Sends the sample-weighted mean dW (and bias delta) of every layer, as group version {@code version}. */
    private void broadcastTo(List<ActorRef<WireEnvelope>> targets) {
        for (AdapterUpdate msg : meanUpdates()) {
            for (ActorRef<WireEnvelope> t : targets) {
                t.tell(new WireEnvelope(groupId, msg, getContext().getSelf()));
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
}
