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
    private JobSpec shape;
    private long version;

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
            } else {
                throw new ProtocolException(ErrorCode.MALFORMED_MESSAGE, "group " + groupId + " takes JobSpec and AdapterUpdate");
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
        version++;
        broadcastTo(new ArrayList<>(members.values()));
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
                t.tell(new WireEnvelope(groupId, msg, getContext().getSelf()));
            }
        }
    }
}
