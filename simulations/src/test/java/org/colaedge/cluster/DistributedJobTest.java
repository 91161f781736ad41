package org.colaedge.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.colaedge.cluster.ClusterFixtures.MODEL;
import static org.colaedge.cluster.ClusterFixtures.WIRE;
import static org.colaedge.cluster.ClusterFixtures.batches;
import static org.colaedge.cluster.ClusterFixtures.config;
import static org.colaedge.cluster.ClusterFixtures.form;
import static org.colaedge.cluster.ClusterFixtures.maxRel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.colaedge.common.adapter.AdapterKind;
import org.colaedge.common.cluster.WireEnvelope;
import org.colaedge.common.learning.OptimizerConfig;
import org.colaedge.common.metrics.ColaMetrics;
import org.colaedge.common.wire.WireMapping;
import org.colaedge.coordinator.actors.JobEntity;
import org.colaedge.coordinator.actors.ModelBatcher;
import org.colaedge.coordinator.training.AdapterPlan;
import org.colaedge.coordinator.training.Batch;
import org.colaedge.coordinator.training.ColaLocalTrainer;
import org.colaedge.coordinator.training.Mode;
import org.colaedge.edge.DeviceActor;
import org.colaedge.proto.v1.ErrorCode;
import org.colaedge.proto.v1.ErrorReply;
import org.colaedge.proto.v1.JobSpec;
import org.colaedge.proto.v1.TrainingBatch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Two coordinator nodes and two edge nodes (four ActorSystems on loopback, one JVM, every message
 * serialized): devices train sharded jobs end to end, and end with exactly the adapters the
 * in-process COLA_LOCAL trainer reaches on the same batches.
 */
class DistributedJobTest {

    static ActorTestKit coordinator;
    static ActorTestKit coordinator2;
    static ActorTestKit edge;
    static ActorTestKit edge2;

    @BeforeAll
    static void startCluster() {
        // no snapshots here: these tests show what devices alone restore (CoordinatorFaultsTest has them)
        String noSnapshots = "colaedge.coordinator.snapshots.dir = \"\"";
        coordinator = ActorTestKit.create("colaedge", config("coordinator", noSnapshots));
        coordinator2 = ActorTestKit.create("colaedge", config("coordinator", noSnapshots));
        edge = ActorTestKit.create("colaedge", config("edge", noSnapshots));
        edge2 = ActorTestKit.create("colaedge", config("edge", noSnapshots));
        form(List.of(coordinator, coordinator2, edge, edge2));
    }

    @AfterAll
    static void stopCluster() {
        edge2.shutdownTestKit();
        edge.shutdownTestKit();
        coordinator2.shutdownTestKit();
        coordinator.shutdownTestKit();
    }

    private DeviceActor.State train(String jobId, AdapterPlan plan, int interval, boolean merged, OptimizerConfig opt, List<Batch> data, long seed) {
        return start(edge, jobId, plan, interval, merged, opt, data, seed).expectMessageClass(DeviceActor.State.class, Duration.ofSeconds(60));
    }

    private TestProbe<DeviceActor.State> start(ActorTestKit edge, String jobId, AdapterPlan plan, int interval, boolean merged,
                                               OptimizerConfig opt, List<Batch> data, long seed) {
        return start(edge, jobId, plan, interval, merged, opt, data, seed, null, "device-" + jobId);
    }

    private TestProbe<DeviceActor.State> start(ActorTestKit edge, String jobId, AdapterPlan plan, int interval, boolean merged,
                                               OptimizerConfig opt, List<Batch> data, long seed, java.nio.file.Path checkpoint, String actorName) {
        return ClusterFixtures.start(edge, jobId, plan, interval, merged, opt, data, seed, checkpoint, actorName, "");
    }

    @Test
    void aDeviceTrainingAShardedJobEndsWhereColaLocalEnds() {
        AdapterPlan plan = new AdapterPlan(AdapterKind.LOW_RANK, 3, 1f, List.of());
        OptimizerConfig sgd = OptimizerConfig.sgd(0.05);
        List<Batch> data = batches(12, 16, 1);
        DeviceActor.State state = train("job-sync", plan, 1, false, sgd, data, 3);
        assertThat(state.errors()).isEmpty();
        assertThat(state.version()).isEqualTo(12);

        ColaLocalTrainer local = new ColaLocalTrainer(MODEL, plan, 1, Mode.ALONE, false, 1, sgd, 3);
        data.forEach(local::step);
        assertThat(maxRel(state.parameters(), local.device(0).adapters())).isLessThan(1e-5);
    }

    @Test
    void withIntervalThreeAndMergedWeightsTheStaleVersionsMatchColaLocalToo() {
        AdapterPlan plan = new AdapterPlan(AdapterKind.LINEAR, 0, 1f, List.of());
        OptimizerConfig nesterov = OptimizerConfig.nesterovs(0.05, 0.9).withWeightDecay(5e-4);
        List<Batch> data = batches(12, 10, 2);
        DeviceActor.State state = train("job-merged", plan, 3, true, nesterov, data, 4);
        assertThat(state.errors()).isEmpty();
        assertThat(state.version()).isEqualTo(4);

        ColaLocalTrainer local = new ColaLocalTrainer(MODEL, plan, 1, Mode.ALONE, true, 3, nesterov, 4);
        data.forEach(local::step);
        assertThat(maxRel(state.parameters(), local.device(0).adapters())).isLessThan(1e-5);
    }

    @Test
    void devicesOnBothEdgeNodesTrainFourShardedJobsConcurrently() {
        AdapterPlan plan = new AdapterPlan(AdapterKind.LOW_RANK, 3, 1f, List.of());
        OptimizerConfig sgd = OptimizerConfig.sgd(0.05);
        List<TestProbe<DeviceActor.State>> probes = new ArrayList<>();
        List<List<Batch>> data = new ArrayList<>();
        for (int d = 0; d < 4; d++) {
            data.add(batches(6, 8, 10 + d));
            probes.add(start(d % 2 == 0 ? edge : edge2, "job-many-" + d, plan, 1, false, sgd, data.get(d), 20 + d));
        }
        for (int d = 0; d < 4; d++) {
            DeviceActor.State state = probes.get(d).expectMessageClass(DeviceActor.State.class, Duration.ofSeconds(60));
            assertThat(state.errors()).isEmpty();
            ColaLocalTrainer local = new ColaLocalTrainer(MODEL, plan, 1, Mode.ALONE, false, 1, sgd, 20 + d);
            data.get(d).forEach(local::step);
            assertThat(maxRel(state.parameters(), local.device(0).adapters())).as("device " + d).isLessThan(1e-5);
        }
        // Jobs on one node shared forward/backward passes: some pass carried more than one job's batch.
        int most = 0;
        for (ActorTestKit kit : List.of(coordinator, coordinator2)) {
            TestProbe<ModelBatcher.Stats> stats = kit.createTestProbe();
            var batcher = kit.system().classicSystem().actorSelection("/system/batcher-mlp-test");
            batcher.tell(new ModelBatcher.GetStats(stats.getRef()), org.apache.pekko.actor.ActorRef.noSender());
            most = Math.max(most, stats.expectMessageClass(ModelBatcher.Stats.class, Duration.ofSeconds(10)).maxSegmentsInOnePass());
        }
        assertThat(most).isGreaterThan(1);
    }

    @Test
    void aRestartedDeviceResumesFromItsCheckpointAndLosesNoUpdate(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        AdapterPlan plan = new AdapterPlan(AdapterKind.LOW_RANK, 3, 1f, List.of());
        OptimizerConfig nesterov = OptimizerConfig.nesterovs(0.05, 0.9);
        List<Batch> data = batches(12, 8, 5);
        java.nio.file.Path ckpt = dir.resolve("device.ckpt");
        // First life: 6 of the 12 steps, then the device is gone.
        DeviceActor.State first = start(edge, "job-restart", plan, 1, false, nesterov, data.subList(0, 6), 7, ckpt, "life-1")
                .expectMessageClass(DeviceActor.State.class, Duration.ofSeconds(60));
        assertThat(first.stepsDone()).isEqualTo(6);
        // Second life: a new actor with the same checkpoint file continues at step 6.
        DeviceActor.State second = start(edge2, "job-restart", plan, 1, false, nesterov, data, 7, ckpt, "life-2")
                .expectMessageClass(DeviceActor.State.class, Duration.ofSeconds(60));
        assertThat(second.errors()).isEmpty();
        assertThat(second.stepsDone()).isEqualTo(12);
        assertThat(second.version()).isEqualTo(12);
        ColaLocalTrainer local = new ColaLocalTrainer(MODEL, plan, 1, Mode.ALONE, false, 1, nesterov, 7);
        data.forEach(local::step);
        assertThat(maxRel(second.parameters(), local.device(0).adapters())).isLessThan(1e-5);
    }

    @Test
    void aJobThatLostItsStateIsRebuiltFromTheDevice(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        AdapterPlan plan = new AdapterPlan(AdapterKind.LINEAR, 0, 1f, List.of());
        OptimizerConfig sgd = OptimizerConfig.sgd(0.05);
        List<Batch> data = batches(10, 8, 6);
        java.nio.file.Path ckpt = dir.resolve("device.ckpt");
        start(edge, "job-lost", plan, 1, true, sgd, data.subList(0, 5), 8, ckpt, "lost-1").expectMessageClass(DeviceActor.State.class, Duration.ofSeconds(60));
        // The job entity is gone (as when its coordinator node leaves): a fresh entity under a new id,
        // the same device state. The device re-attaches and re-sends its latest update; nothing is lost.
        var c = org.colaedge.proto.v1.DeviceCheckpoint.parseFrom(org.colaedge.common.wire.ChecksummedFile.read(ckpt, "CECK"));
        org.colaedge.common.wire.ChecksummedFile.write(ckpt, "CECK", c.toBuilder().setJobId("job-lost-moved").build().toByteArray());
        DeviceActor.State after = start(edge2, "job-lost-moved", plan, 1, true, sgd, data, 8, ckpt, "lost-2")
                .expectMessageClass(DeviceActor.State.class, Duration.ofSeconds(60));
        assertThat(after.errors()).isEmpty();
        assertThat(after.version()).isEqualTo(10);
        ColaLocalTrainer local = new ColaLocalTrainer(MODEL, plan, 1, Mode.ALONE, true, 1, sgd, 8);
        data.forEach(local::step);
        assertThat(maxRel(after.parameters(), local.device(0).adapters())).isLessThan(1e-5);
    }

    @Test
    void aBatchTheCoordinatorRejectsIsSkippedAndTrainingGoesOn() {
        AdapterPlan plan = new AdapterPlan(AdapterKind.LOW_RANK, 3, 1f, List.of());
        OptimizerConfig sgd = OptimizerConfig.sgd(0.05);
        List<Batch> clean = batches(8, 8, 9);
        List<Batch> withBad = new ArrayList<>(clean);
        INDArray nan = clean.get(3).input().dup();
        nan.putScalar(2, 5, Float.NaN);
        withBad.add(3, new Batch(nan, clean.get(3).oneHot(), clean.get(3).users()));
        DeviceActor.State state = train("job-skip", plan, 1, false, sgd, withBad, 11);
        assertThat(state.errors()).hasSize(1).allMatch(e -> e.startsWith("NON_FINITE_VALUES"));
        assertThat(state.stepsDone()).isEqualTo(9);
        assertThat(state.version()).isEqualTo(8);
        ColaLocalTrainer local = new ColaLocalTrainer(MODEL, plan, 1, Mode.ALONE, false, 1, sgd, 11);
        clean.forEach(local::step);
        assertThat(maxRel(state.parameters(), local.device(0).adapters())).isLessThan(1e-5);
    }

    @Test
    void aCollaborationGroupServesTheSampleWeightedMeanOfItsMembersAdapters() {
        AdapterPlan plan = new AdapterPlan(AdapterKind.LINEAR, 0, 1f, List.of());
        OptimizerConfig sgd = OptimizerConfig.sgd(0.05);
        // An observer joins the group like a job (no samples, so no weight) to see what the group serves.
        TestProbe<WireEnvelope> observer = edge.createTestProbe();
        var groupRef = ClusterSharding.get(edge.system()).entityRefFor(org.colaedge.coordinator.actors.GroupEntity.TYPE_KEY, "group-1");
        JobSpec.Builder join = JobSpec.newBuilder().setBaseModel("mlp-test").setMerged(true);
        plan.create(MODEL, 0).values().forEach(a -> join.addAdapters(WireMapping.toProto(a.spec())));
        groupRef.tell(new WireEnvelope("observer", join.build(), observer.getRef()));

        int[] rows = {6, 10};
        List<TestProbe<DeviceActor.State>> probes = new ArrayList<>();
        for (int d = 0; d < 2; d++) {
            probes.add(ClusterFixtures.start(d == 0 ? edge : edge2, "job-col-" + d, plan, 1, true, sgd, batches(5, rows[d], 40 + d), 50 + d,
                    null, "device-col-" + d, "group-1"));
        }
        List<DeviceActor.State> states = new ArrayList<>();
        for (TestProbe<DeviceActor.State> p : probes) {
            DeviceActor.State st = p.expectMessageClass(DeviceActor.State.class, Duration.ofSeconds(60));
            assertThat(st.errors()).isEmpty();
            states.add(st);
        }
        // 10 device versions in all: the group's version 10 is the mean of both devices' final adapters,
        // weighted by the samples each trained on (5 x 6 and 5 x 10).
        Map<String, INDArray> served = new java.util.HashMap<>();
        observer.awaitAssert(Duration.ofSeconds(30), () -> {
            WireEnvelope e = observer.receiveMessage(Duration.ofSeconds(5));
            var u = e.payloadAs(org.colaedge.proto.v1.AdapterUpdate.class);
            if (u.getVersion() == 10) {
                served.put(u.getLayer(), WIRE.codec().decode(u.getMergedDelta()));
            }
            assertThat(served).hasSize(3);
            return null;
        });
        double w0 = 30.0 / 80;
        double w1 = 50.0 / 80;
        for (String layer : served.keySet()) {
            INDArray w0p = states.get(0).parameters().get(layer);
            INDArray w1p = states.get(1).parameters().get(layer);
            long inOut = MODEL.weight(layer).length();
            INDArray expected = w0p.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, inOut)).mul(w0)
                    .add(w1p.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, inOut)).mul(w1))
                    .reshape(MODEL.weight(layer).shape());
            assertThat(served.get(layer).sub(expected).amaxNumber().doubleValue() / expected.amaxNumber().doubleValue())
                    .as("group mean of layer " + layer).isLessThan(1e-5);
        }
    }

    /** The error counters of both coordinator nodes, summed. */
    private static Map<String, Long> coordinatorErrors() {
        Map<String, Long> sum = new java.util.TreeMap<>();
        for (ActorTestKit kit : List.of(coordinator, coordinator2)) {
            SortedMap<String, Long> c = ColaMetrics.get(kit.system()).snapshot();
            c.forEach((k, v) -> {
                if (k.startsWith("errors.")) {
                    sum.merge(k, v, Long::sum);
                }
            });
        }
        return sum;
    }

    @Test
    void badInputGetsAnErrorReplyAndTheJobKeepsWorking() {
        Map<String, Long> errorsBefore = coordinatorErrors();
        TestProbe<WireEnvelope> probe = edge.createTestProbe();
        var job = ClusterSharding.get(edge.system()).entityRefFor(JobEntity.TYPE_KEY, "job-bad");
        TrainingBatch early = TrainingBatch.newBuilder().setJobId("job-bad").setDeviceId("d").setStep(0)
                .setInputs(WIRE.codec().encode(Nd4j.zeros(DataType.FLOAT, 2, 20))).setLabels(WIRE.codec().encode(Nd4j.zeros(DataType.FLOAT, 2, 4))).build();
        job.tell(new WireEnvelope("d", early, probe.getRef()));
        assertThat(probe.expectMessageClass(WireEnvelope.class, Duration.ofSeconds(20)).payloadAs(ErrorReply.class).getCode())
                .isEqualTo(ErrorCode.UNKNOWN_JOB);

        var hello = org.colaedge.proto.v1.DeviceHello.newBuilder().setDeviceId("d")
                .setProtocolVersionValue(2).build();
        job.tell(new WireEnvelope("d", hello, probe.getRef()));
        ErrorReply version = probe.expectMessageClass(WireEnvelope.class, Duration.ofSeconds(20)).payloadAs(ErrorReply.class);
        assertThat(version.getCode()).isEqualTo(ErrorCode.PROTOCOL_VERSION_MISMATCH);
        assertThat(version.getMessage()).contains("speaks protocol version 2");

        AdapterPlan plan = new AdapterPlan(AdapterKind.LINEAR, 0, 1f, List.of());
        JobSpec.Builder spec = JobSpec.newBuilder().setJobId("job-bad").setDeviceId("d").setBaseModel("mlp-test").setInterval(1);
        plan.create(MODEL, 1).values().forEach(a -> spec.addAdapters(WireMapping.toProto(a.spec())));
        job.tell(new WireEnvelope("d", spec.build(), probe.getRef()));
        probe.expectMessageClass(WireEnvelope.class, Duration.ofSeconds(20));

        TrainingBatch wrongShape = early.toBuilder().setInputs(WIRE.codec().encode(Nd4j.zeros(DataType.FLOAT, 2, 21))).build();
        job.tell(new WireEnvelope("d", wrongShape, probe.getRef()));
        ErrorReply shape = probe.expectMessageClass(WireEnvelope.class, Duration.ofSeconds(20)).payloadAs(ErrorReply.class);
        assertThat(shape.getCode()).isEqualTo(ErrorCode.SHAPE_MISMATCH);

        INDArray nan = Nd4j.zeros(DataType.FLOAT, 2, 20);
        nan.putScalar(0, 3, Float.NaN);
        job.tell(new WireEnvelope("d", early.toBuilder().setStep(1).setInputs(WIRE.codec().encode(nan)).build(), probe.getRef()));
        ErrorReply nonFinite = probe.expectMessageClass(WireEnvelope.class, Duration.ofSeconds(20)).payloadAs(ErrorReply.class);
        assertThat(nonFinite.getCode()).isEqualTo(ErrorCode.NON_FINITE_VALUES);

        // An error is never answered with an error (no ping-pong between entities).
        job.tell(new WireEnvelope("d", ErrorReply.newBuilder().setCode(ErrorCode.INTERNAL).setMessage("x").build(), probe.getRef()));
        probe.expectNoMessage(Duration.ofMillis(500));

        job.tell(new WireEnvelope("d", early.toBuilder().setStep(2).build(), probe.getRef()));
        WireEnvelope ok = probe.expectMessageClass(WireEnvelope.class, Duration.ofSeconds(20));
        assertThat(ok.payload()).isInstanceOf(org.colaedge.proto.v1.HiddenGradients.class);

        // Every refusal was counted, by error code, on the node that hosts the job.
        Map<String, Long> counted = new java.util.TreeMap<>(coordinatorErrors());
        errorsBefore.forEach((k, v) -> counted.merge(k, -v, Long::sum));
        counted.values().removeIf(v -> v == 0);
        assertThat(counted).containsExactlyInAnyOrderEntriesOf(Map.of("errors.UNKNOWN_JOB", 1L, "errors.PROTOCOL_VERSION_MISMATCH", 1L,
                "errors.SHAPE_MISMATCH", 1L, "errors.NON_FINITE_VALUES", 1L));
    }
}
