package org.colaedge.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.common.cluster.WireEnvelope;
import org.colaedge.common.learning.OptimizerConfig;
import org.colaedge.common.wire.TensorCodec;
import org.colaedge.common.wire.WireMapping;
import org.colaedge.coordinator.actors.JobEntity;
import org.colaedge.coordinator.actors.JobSharding;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.training.AdapterPlan;
import org.colaedge.coordinator.training.Batch;
import org.colaedge.coordinator.training.UserRows;
import org.colaedge.edge.DeviceActor;
import org.colaedge.proto.v1.JobSpec;
import org.colaedge.proto.v1.JobStatus;
import org.colaedge.proto.v1.StateRequest;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** What the cluster tests share: node configuration, cluster forming, test data, devices, comparisons. */
final class ClusterFixtures {

    static final BaseModel MODEL = BaseModel.mlp(new long[] {20}, List.of(16, 12), 4, 5);
    static final WireMapping WIRE = new WireMapping(new TensorCodec());

    private ClusterFixtures() {
    }

    /** A test node: any free port, every message serialized, {@code extra} HOCON on top. */
    static Config config(String role, String extra) {
        return ConfigFactory.load(ConfigFactory.parseString("""
                colaedge.cluster.port = 0
                pekko.cluster.roles = [%s]
                pekko.actor.serialize-messages = on
                pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
                pekko.loglevel = WARNING
                # test clusters on loopback: gossip faster so that nodes are Up, and leave, sooner
                pekko.cluster.gossip-interval = 200 ms
                pekko.cluster.leader-actions-interval = 200 ms
                # a batching window (the default, 0, batches only what arrives during a pass), so
                # concurrent jobs' requests meet in one pass in the batching test
                colaedge.coordinator.batching.max-wait = 20 ms
                # a loaded 2-core machine can take longer than the 10 s default to stop a cluster node
                # whose shard region still waits for an entity's last message (seen once in CI-like runs)
                pekko.actor.testkit.typed.system-shutdown-default = 30 s
                %s
                """.formatted(role, extra)));
    }

    /** Joins every node to the first, waits until all are Up, then starts job sharding on each. */
    static void form(List<ActorTestKit> nodes) {
        var seed = Cluster.get(nodes.get(0).system()).selfMember().address();
        for (ActorTestKit kit : nodes) {
            Cluster.get(kit.system()).manager().tell(Join.create(seed));
        }
        TestProbe<Object> probe = nodes.get(0).createTestProbe();
        probe.awaitAssert(Duration.ofSeconds(30), () -> {
            for (ActorTestKit kit : nodes) {
                assertThat(Cluster.get(kit.system()).selfMember().status()).isEqualTo(MemberStatus.up());
            }
            return null;
        });
        for (ActorTestKit kit : nodes) {
            JobSharding.init(kit.system(), Map.of("mlp-test", MODEL));
        }
    }

    static List<Batch> batches(int steps, int rows, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<Batch> out = new ArrayList<>();
        for (int s = 0; s < steps; s++) {
            Nd4j.getRandom().setSeed(seed + s);
            INDArray x = Nd4j.randn(DataType.FLOAT, rows, 20);
            INDArray y = Nd4j.zeros(DataType.FLOAT, rows, 4);
            for (int i = 0; i < rows; i++) {
                y.putScalar(i, rng.nextInt(4), 1f);
            }
            out.add(new Batch(x, y, List.of(new UserRows(0, rows))));
        }
        return out;
    }

    /** The job's spec as its device sends it: adapters of {@code plan} on {@link #MODEL} with {@code seed}. */
    static JobSpec spec(String jobId, AdapterPlan plan, int interval, boolean merged, long seed, String group) {
        JobSpec.Builder spec = JobSpec.newBuilder().setJobId(jobId).setBaseModel("mlp-test").setInterval(interval).setMerged(merged)
                .setGroupId(group);
        for (Adapter a : plan.create(MODEL, seed).values()) {
            spec.addAdapters(WireMapping.toProto(a.spec()));
        }
        return spec.build();
    }

    /** Spawns device "device-JOBID" on {@code edge} training {@code data}; its final state arrives at the returned probe. */
    static TestProbe<DeviceActor.State> start(ActorTestKit edge, String jobId, AdapterPlan plan, int interval, boolean merged,
                                              OptimizerConfig opt, List<Batch> data, long seed, Path checkpoint, String actorName,
                                              String group) {
        List<DeviceActor.LocalBatch> local = data.stream().map(b -> new DeviceActor.LocalBatch(b.input(), b.oneHot())).toList();
        TestProbe<DeviceActor.State> done = edge.createTestProbe();
        var jobRef = ClusterSharding.get(edge.system()).entityRefFor(JobEntity.TYPE_KEY, jobId);
        edge.spawn(DeviceActor.create("device-" + jobId, jobRef, spec(jobId, plan, interval, merged, seed, group), local, opt, WIRE,
                done.getRef(), checkpoint), actorName, DeviceActor.DISPATCHER);
        return done;
    }

    /** Asks job {@code jobId} (through sharding from {@code from}) where it stands. */
    static JobStatus status(ActorTestKit from, String jobId) {
        TestProbe<WireEnvelope> probe = from.createTestProbe();
        ClusterSharding.get(from.system()).entityRefFor(JobEntity.TYPE_KEY, jobId)
                .tell(new WireEnvelope("test", StateRequest.getDefaultInstance(), probe.getRef()));
        return probe.expectMessageClass(WireEnvelope.class, Duration.ofSeconds(30)).payloadAs(JobStatus.class);
    }

    static double maxRel(Map<String, INDArray> actual, Map<String, Adapter> expected) {
        double diff = 0;
        double ref = 0;
        for (Map.Entry<String, Adapter> e : expected.entrySet()) {
            diff = Math.max(diff, actual.get(e.getKey()).sub(e.getValue().params()).amaxNumber().doubleValue());
            ref = Math.max(ref, e.getValue().params().amaxNumber().doubleValue());
        }
        return diff / ref;
    }
}
