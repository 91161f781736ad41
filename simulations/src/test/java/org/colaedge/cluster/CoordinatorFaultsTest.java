package org.colaedge.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.colaedge.cluster.ClusterFixtures.MODEL;
import static org.colaedge.cluster.ClusterFixtures.WIRE;
import static org.colaedge.cluster.ClusterFixtures.batches;
import static org.colaedge.cluster.ClusterFixtures.config;
import static org.colaedge.cluster.ClusterFixtures.form;
import static org.colaedge.cluster.ClusterFixtures.maxRel;
import static org.colaedge.cluster.ClusterFixtures.spec;
import static org.colaedge.cluster.ClusterFixtures.start;
import static org.colaedge.cluster.ClusterFixtures.status;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;
import org.colaedge.common.adapter.AdapterKind;
import org.colaedge.common.cluster.WireEnvelope;
import org.colaedge.common.learning.OptimizerConfig;
import org.colaedge.common.metrics.ColaMetrics;
import org.colaedge.common.wire.ChecksummedFile;
import org.colaedge.coordinator.actors.DeviceRegistry;
import org.colaedge.coordinator.actors.GroupEntity;
import org.colaedge.coordinator.actors.JobEntity;
import org.colaedge.coordinator.snapshot.SnapshotStore;
import org.colaedge.coordinator.training.AdapterPlan;
import org.colaedge.coordinator.training.Batch;
import org.colaedge.coordinator.training.ColaLocalTrainer;
import org.colaedge.coordinator.training.Mode;
import org.colaedge.edge.DeviceActor;
import org.colaedge.common.adapter.Adapter;
import org.colaedge.proto.v1.AdapterUpdate;
import org.colaedge.proto.v1.GroupMemberSnapshot;
import org.colaedge.proto.v1.GroupSnapshot;
import org.colaedge.proto.v1.HiddenGradients;
import org.colaedge.proto.v1.JobSnapshot;
import org.colaedge.proto.v1.JobSpec;
import org.colaedge.proto.v1.JobStarted;
import org.colaedge.proto.v1.JobStatus;
import org.colaedge.proto.v1.NamedTensor;
import org.colaedge.proto.v1.TrainingBatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Coordinator-side faults with real ActorSystems on loopback (one JVM, every message serialized),
 * one small cluster per test: a coordinator node that leaves (its jobs resume from their snapshots),
 * a corrupt snapshot, and an edge node that goes away under the device-away policies pause and continue.
 */
class CoordinatorFaultsTest {

    private static final AdapterPlan LINEAR = new AdapterPlan(AdapterKind.LINEAR, 0, 1f, List.of());
    private static final OptimizerConfig SGD = OptimizerConfig.sgd(0.05);

    @TempDir
    Path dir;

    private final List<ActorTestKit> nodes = new ArrayList<>();

    private ActorTestKit node(String role, String extra) {
        ActorTestKit kit = ActorTestKit.create("colaedge", config(role, extra));
        nodes.add(kit);
        return kit;
    }

    private String snapshotsIn(Path d) {
        return "colaedge.coordinator.snapshots.dir = \"" + d + "\"\n";
    }

    @AfterEach
    void stopNodes() {
        // Edge nodes first (they were created last): their devices go away while the coordinators can
        // still deliver what their jobs then tell the groups; all at once, a coordinator's shard region
        // waits ~10 s on such a message at shutdown.
        for (int i = nodes.size() - 1; i >= 0; i--) {
            nodes.get(i).shutdownTestKit();
        }
    }

    private static long counter(ActorTestKit node, String name) {
        return ColaMetrics.get(node.system()).get(name);
    }

    @Test
    void aJobWhoseNodeLeftResumesFromItsSnapshotBeforeItsDeviceReturns() {
        // Both coordinators see one snapshot directory (shared storage).
        ActorTestKit a = node("coordinator", snapshotsIn(dir.resolve("snapshots")));
        ActorTestKit b = node("coordinator", snapshotsIn(dir.resolve("snapshots")));
        ActorTestKit edge = node("edge", "");
        form(List.of(a, b, edge));
        List<Batch> data = batches(12, 8, 81);
        Path ckpt = dir.resolve("device.ckpt");

        // First life of the device: 6 of 12 steps, I = 2 and merged: the job applies versions 1..3.
        DeviceActor.State first = start(edge, "job-moves", LINEAR, 2, true, SGD, data.subList(0, 6), 82, ckpt, "life-1", "")
                .expectMessageClass(DeviceActor.State.class, Duration.ofSeconds(30));
        assertThat(first.version()).isEqualTo(3);
        JobStatus before = status(edge, "job-moves");
        assertThat(before.getAdapterVersion()).isEqualTo(3);
        assertThat(before.getNextStep()).isEqualTo(6);
        ActorTestKit host = before.getCoordinator().equals(Cluster.get(a.system()).selfMember().address().toString()) ? a : b;
        ActorTestKit other = host == a ? b : a;
        assertThat(counter(host, "snapshots.written")).isEqualTo(3);
        System.out.printf("job snapshot writes on the actor: %d us on average%n",
                counter(host, "snapshots.write-micros") / counter(host, "snapshots.written"));

        // The node hosting the job leaves; its shard moves. Asked before the device sends anything,
        // the job on the other node already stands where it stood.
        host.shutdownTestKit();
        JobStatus after = status(edge, "job-moves");
        assertThat(after.getCoordinator()).isEqualTo(Cluster.get(other.system()).selfMember().address().toString());
        assertThat(after.getStarted()).isTrue();
        assertThat(after.getRestored()).isTrue();
        assertThat(after.getDeviceAttached()).isFalse();
        assertThat(after.getAdapterVersion()).isEqualTo(3);
        assertThat(after.getNextStep()).isEqualTo(6);
        assertThat(counter(other, "snapshots.restored")).isEqualTo(1);

        // The device comes back with its checkpoint and finishes; nothing was lost or applied twice.
        DeviceActor.State second = start(edge, "job-moves", LINEAR, 2, true, SGD, data, 82, ckpt, "life-2", "")
                .expectMessageClass(DeviceActor.State.class, Duration.ofSeconds(30));
        assertThat(second.errors()).isEmpty();
        assertThat(second.version()).isEqualTo(6);
        ColaLocalTrainer local = new ColaLocalTrainer(MODEL, LINEAR, 1, Mode.ALONE, true, 2, SGD, 82);
        data.forEach(local::step);
        assertThat(maxRel(second.parameters(), local.device(0).adapters())).isLessThan(1e-5);
        assertThat(status(edge, "job-moves").getAdapterVersion()).isEqualTo(6);
    }

    @Test
    void aCorruptSnapshotIsSetAsideCountedAndTheJobStartsFromItsDevice() throws Exception {
        ActorTestKit coordinator = node("coordinator", snapshotsIn(dir));
        form(List.of(coordinator));
        SnapshotStore store = SnapshotStore.at(dir);
        // One file damaged on disk, one that reads back but does not fit its job (a parameter of another shape).
        JobSpec spec1 = spec("job-c1", LINEAR, 1, false, 1, "").toBuilder().setDeviceId("d").build();
        JobSpec spec2 = spec("job-c2", LINEAR, 1, false, 1, "").toBuilder().setDeviceId("d").build();
        store.write(SnapshotStore.JOB, "job-c1", JobSnapshot.newBuilder().setSpec(spec1).setAdapterVersion(0).setNextStep(4).build());
        Path f1 = store.file(SnapshotStore.JOB, "job-c1");
        byte[] bytes = Files.readAllBytes(f1);
        Files.write(f1, java.util.Arrays.copyOf(bytes, bytes.length - 3)); // truncated
        var bad = WIRE.parameterUpdate("job-c2", "d", org.colaedge.common.adapter.Adapters.create(
                new org.colaedge.common.adapter.AdapterSpec("dense0", org.colaedge.common.adapter.AdapterKind.LINEAR, 20, 15, 0, 1f, 1, false,
                        List.of(), null)), 1, 0, 0);
        store.write(SnapshotStore.JOB, "job-c2", JobSnapshot.newBuilder().setSpec(spec2).setAdapterVersion(1).setNextStep(1).addAdapters(bad).build());
        Path f2 = store.file(SnapshotStore.JOB, "job-c2");

        TestProbe<WireEnvelope> probe = coordinator.createTestProbe();
        for (JobSpec s : List.of(spec1, spec2)) {
            var job = ClusterSharding.get(coordinator.system()).entityRefFor(JobEntity.TYPE_KEY, s.getJobId());
            job.tell(new WireEnvelope("d", s, probe.getRef()));
            JobStarted started = probe.expectMessageClass(WireEnvelope.class, Duration.ofSeconds(20)).payloadAs(JobStarted.class);
            assertThat(started.getAdapterVersion()).isZero();
            assertThat(started.getNextStep()).isZero();
            // and it works
            Batch batch = batches(1, 4, 3).get(0);
            job.tell(new WireEnvelope("d", TrainingBatch.newBuilder().setJobId(s.getJobId()).setDeviceId("d").setStep(0)
                    .setInputs(WIRE.codec().encode(batch.input())).setLabels(WIRE.codec().encode(batch.oneHot())).build(), probe.getRef()));
            assertThat(probe.expectMessageClass(WireEnvelope.class, Duration.ofSeconds(20)).payload()).isInstanceOf(HiddenGradients.class);
        }
        assertThat(counter(coordinator, "snapshots.corrupt")).isEqualTo(2);
        assertThat(counter(coordinator, "snapshots.restored")).isZero();
        assertThat(f1.resolveSibling(f1.getFileName() + ".corrupt")).exists();
        assertThat(f2.resolveSibling(f2.getFileName() + ".corrupt")).exists();
    }

    /** Group "group-away": member B (edge node 2) trains 3 steps and its edge node is terminated; then member A trains 4. */
    private record GroupRun(ActorTestKit coordinator, ActorTestKit edge, TestProbe<WireEnvelope> observer, DeviceActor.State b) { }

    private GroupRun groupWithAMemberWhoseEdgeNodeIsTerminated(String coordinatorConfig) {
        ActorTestKit coordinator = node("coordinator", coordinatorConfig);
        ActorTestKit edge = node("edge", "");
        ActorTestKit edge2 = node("edge", "");
        form(List.of(coordinator, edge, edge2));
        // An observer joins the group like a job (no samples, so no weight) to see what the group publishes.
        TestProbe<WireEnvelope> observer = edge.createTestProbe();
        JobSpec join = spec("observer", LINEAR, 1, true, 0, "").toBuilder().clearJobId().build();
        ClusterSharding.get(edge.system()).entityRefFor(GroupEntity.TYPE_KEY, "group-away").tell(new WireEnvelope("observer", join, observer.getRef()));
        DeviceActor.State b = start(edge2, "job-b", LINEAR, 1, true, SGD, batches(3, 6, 61), 71, null, "device-b", "group-away")
                .expectMessageClass(DeviceActor.State.class, Duration.ofSeconds(30));
        assertThat(b.version()).isEqualTo(3);
        assertThat(published(observer, 3, Duration.ofSeconds(10))).hasSize(3);
        edge2.shutdownTestKit(); // B's device actor stops, its node leaves
        return new GroupRun(coordinator, edge, observer, b);
    }

    private DeviceActor.State trainMemberA(GroupRun run) {
        DeviceActor.State a = start(run.edge(), "job-a", LINEAR, 1, true, SGD, batches(4, 10, 62), 72, null, "device-a", "group-away")
                .expectMessageClass(DeviceActor.State.class, Duration.ofSeconds(30));
        assertThat(a.errors()).isEmpty();
        assertThat(a.version()).isEqualTo(4);
        return a;
    }

    /** Reads what the group publishes until every layer of {@code version} has arrived; returns that version's mean dW per layer. */
    private static Map<String, INDArray> published(TestProbe<WireEnvelope> observer, long version, Duration within) {
        Map<String, INDArray> served = new HashMap<>();
        long deadline = System.nanoTime() + within.toNanos();
        while (served.size() < 3) {
            Duration left = Duration.ofNanos(Math.max(1, deadline - System.nanoTime()));
            AdapterUpdate u = observer.expectMessageClass(WireEnvelope.class, left).payloadAs(AdapterUpdate.class);
            assertThat(u.getVersion()).isLessThanOrEqualTo(version);
            if (u.getVersion() == version) {
                served.put(u.getLayer(), WIRE.codec().decode(u.getMergedDelta()));
            }
        }
        return served;
    }

    /** The sample-weighted mean of two devices' final Linear adapters (W part), per layer. */
    private static void assertMeanOf(Map<String, INDArray> served, DeviceActor.State x, double wx, DeviceActor.State y, double wy) {
        for (String layer : served.keySet()) {
            long inOut = MODEL.weight(layer).length();
            INDArray expected = x.parameters().get(layer).get(NDArrayIndex.point(0), NDArrayIndex.interval(0, inOut)).mul(wx / (wx + wy))
                    .add(y.parameters().get(layer).get(NDArrayIndex.point(0), NDArrayIndex.interval(0, inOut)).mul(wy / (wx + wy)))
                    .reshape(MODEL.weight(layer).shape());
            assertThat(served.get(layer).sub(expected).amaxNumber().doubleValue() / expected.amaxNumber().doubleValue())
                    .as("group mean of layer " + layer).isLessThan(1e-5);
        }
    }

    @Test
    void pauseKeepsTheJobAndTheGroupWaitsForTheAwayMemberUntilTheTimeout() {
        Duration timeout = Duration.ofSeconds(3);
        GroupRun run = groupWithAMemberWhoseEdgeNodeIsTerminated("""
                colaedge.coordinator.snapshots.dir = ""
                colaedge.coordinator.device-away { policy = pause, timeout = %d ms }
                """.formatted(timeout.toMillis()));
        run.observer().awaitAssert(Duration.ofSeconds(10), () -> {
            assertThat(counter(run.coordinator(), "groups.members-away")).isEqualTo(1);
            return null;
        });
        long awayAt = System.nanoTime();
        // The job kept its state in memory (snapshots are off here) and waits for its device.
        JobStatus b = status(run.edge(), "job-b");
        assertThat(b.getStarted()).isTrue();
        assertThat(b.getDeviceAway()).isTrue();
        assertThat(b.getRestored()).isFalse();
        assertThat(b.getAdapterVersion()).isEqualTo(3);
        assertThat(b.getNextStep()).isEqualTo(3);
        assertThat(counter(run.coordinator(), "devices.away")).isEqualTo(1);

        // A trains meanwhile; the group takes its 4 versions but publishes none until the timeout, then
        // one version with everything: A's last contribution and B's, weighted by samples (4 x 10 and 3 x 6).
        DeviceActor.State a = trainMemberA(run);
        Map<String, INDArray> released = published(run.observer(), 4, Duration.ofSeconds(10));
        assertThat(Duration.ofNanos(System.nanoTime() - awayAt)).isGreaterThan(timeout.minusMillis(500));
        assertThat(counter(run.coordinator(), "groups.versions-withheld")).isEqualTo(4);
        assertMeanOf(released, a, 40, run.b(), 18);
        // After the timeout the job behaves as under `continue`: it stopped (no snapshots here: no state left).
        run.observer().awaitAssert(Duration.ofSeconds(10), () -> {
            assertThat(status(run.edge(), "job-b").getStarted()).isFalse();
            return null;
        });
    }

    @Test
    void aPausedJobAndItsGroupGoOnAsSoonAsTheDeviceComesBack() {
        ActorTestKit coordinator = node("coordinator", "colaedge.coordinator.snapshots.dir = \"\"\n");
        ActorTestKit edge = node("edge", "");
        form(List.of(coordinator, edge));
        TestProbe<WireEnvelope> observer = edge.createTestProbe();
        JobSpec join = spec("observer", LINEAR, 1, true, 0, "").toBuilder().clearJobId().build();
        ClusterSharding.get(edge.system()).entityRefFor(GroupEntity.TYPE_KEY, "group-back").tell(new WireEnvelope("observer", join, observer.getRef()));
        List<Batch> data = batches(6, 6, 91);
        Path ckpt = dir.resolve("device.ckpt");
        var job = ClusterSharding.get(edge.system()).entityRefFor(JobEntity.TYPE_KEY, "job-back");
        JobSpec spec = spec("job-back", LINEAR, 1, true, 92, "group-back");
        List<DeviceActor.LocalBatch> local = data.stream().map(b -> new DeviceActor.LocalBatch(b.input(), b.oneHot())).toList();

        // First life: 3 of 6 steps; then the device actor stops (the registry's death watch sees it).
        TestProbe<DeviceActor.State> done = edge.createTestProbe();
        var life1 = edge.spawn(DeviceActor.create("device-job-back", job, spec, local.subList(0, 3), SGD, WIRE, done.getRef(), ckpt),
                "back-1", DeviceActor.DISPATCHER);
        assertThat(done.expectMessageClass(DeviceActor.State.class, Duration.ofSeconds(30)).version()).isEqualTo(3);
        assertThat(published(observer, 3, Duration.ofSeconds(10))).hasSize(3);
        edge.stop(life1);
        observer.awaitAssert(Duration.ofSeconds(10), () -> {
            assertThat(counter(coordinator, "groups.members-away")).isEqualTo(1);
            return null;
        });
        assertThat(status(edge, "job-back").getDeviceAway()).isTrue();

        // It comes back (policy pause, timeout 10 minutes): job and group go on at once.
        edge.spawn(DeviceActor.create("device-job-back", job, spec, local, SGD, WIRE, done.getRef(), ckpt), "back-2", DeviceActor.DISPATCHER);
        DeviceActor.State back = done.expectMessageClass(DeviceActor.State.class, Duration.ofSeconds(30));
        assertThat(back.errors()).isEmpty();
        assertThat(back.version()).isEqualTo(6);
        assertThat(published(observer, 6, Duration.ofSeconds(10))).hasSize(3);
        assertThat(counter(coordinator, "groups.versions-withheld")).isZero();
        JobStatus status = status(edge, "job-back");
        assertThat(status.getDeviceAway()).isFalse();
        assertThat(status.getDeviceAttached()).isTrue();
        assertThat(status.getAdapterVersion()).isEqualTo(6);
        // The node's registry knows who drives the job.
        TestProbe<DeviceRegistry.Devices> devices = coordinator.createTestProbe();
        coordinator.system().classicSystem().actorSelection("/system/device-registry")
                .tell(new DeviceRegistry.GetDevices(devices.getRef()), org.apache.pekko.actor.ActorRef.noSender());
        assertThat(devices.expectMessageClass(DeviceRegistry.Devices.class, Duration.ofSeconds(10)).devices())
                .singleElement().satisfies(d -> {
                    assertThat(d.deviceId()).isEqualTo("device-job-back");
                    assertThat(d.jobId()).isEqualTo("job-back");
                    assertThat(d.protocolVersion()).isEqualTo(1);
                    assertThat(d.lastSeen()).isAfterOrEqualTo(d.attachedSince());
                });
    }

    @Test
    void continueStopsTheJobAndTheGroupGoesOnWithItsLastContribution() {
        GroupRun run = groupWithAMemberWhoseEdgeNodeIsTerminated(snapshotsIn(dir) + "colaedge.coordinator.device-away.policy = continue\n");
        run.observer().awaitAssert(Duration.ofSeconds(10), () -> {
            assertThat(counter(run.coordinator(), "jobs.passivated")).isEqualTo(1);
            return null;
        });
        assertThat(counter(run.coordinator(), "groups.members-away")).isZero();

        // A trains; every version it contributes is published at once (4 of them), B's last one stays in the mean.
        DeviceActor.State a = trainMemberA(run);
        Map<String, INDArray> last = published(run.observer(), 7, Duration.ofSeconds(5));
        assertMeanOf(last, a, 40, run.b(), 18);
        assertThat(counter(run.coordinator(), "groups.versions-withheld")).isZero();
        // B's job snapshotted before it stopped: asked now, it is restored where it was.
        JobStatus b = status(run.edge(), "job-b");
        assertThat(b.getRestored()).isTrue();
        assertThat(b.getAdapterVersion()).isEqualTo(3);
        assertThat(b.getDeviceAway()).isFalse();
        // The group's snapshot holds its version, every member's samples and adapters.
        GroupSnapshot group = SnapshotStore.at(dir).read(SnapshotStore.GROUP, "group-away").orElseThrow();
        assertThat(group.getVersion()).isEqualTo(7);
        Map<String, Long> samples = new HashMap<>();
        group.getMembersList().forEach(m -> samples.put(m.getJobId(), m.getSamples()));
        assertThat(samples).isEqualTo(Map.of("observer", 0L, "job-b", 18L, "job-a", 40L));
    }

    @Test
    void aGroupRestoresItsMembersFromItsSnapshot() throws Exception {
        ActorTestKit coordinator = node("coordinator", snapshotsIn(dir));
        form(List.of(coordinator));
        // A snapshot of group version 5 with two members: dW of 1 (30 samples) and of 3 (10 samples).
        JobSpec shape = spec("", LINEAR, 1, true, 0, "");
        GroupSnapshot.Builder snap = GroupSnapshot.newBuilder().setGroupId("group-back").setShape(shape).setVersion(5);
        long[] samples = {30, 10};
        for (int m = 0; m < 2; m++) {
            GroupMemberSnapshot.Builder member = GroupMemberSnapshot.newBuilder().setJobId("job-" + m).setSamples(samples[m]);
            for (Adapter a : LINEAR.create(MODEL, 0).values()) {
                a.setParams(a.params().add(1 + 2 * m));
                a.paramViews().forEach((name, v) -> member.addParameters(NamedTensor.newBuilder().setName(a.layer() + "/" + name)
                        .setTensor(WIRE.codec().encode(v))));
            }
            snap.addMembers(member);
        }
        SnapshotStore.at(dir).write(SnapshotStore.GROUP, "group-back", snap.build());

        // A member joining the fresh entity gets the restored version 5: the weighted mean, dW = 1.5 everywhere.
        TestProbe<WireEnvelope> member = coordinator.createTestProbe();
        ClusterSharding.get(coordinator.system()).entityRefFor(GroupEntity.TYPE_KEY, "group-back")
                .tell(new WireEnvelope("job-0", shape, member.getRef()));
        Map<String, INDArray> served = published(member, 5, Duration.ofSeconds(20));
        for (Map.Entry<String, INDArray> e : served.entrySet()) {
            assertThat(e.getValue().minNumber().doubleValue()).as(e.getKey()).isCloseTo(1.5, org.assertj.core.data.Offset.offset(1e-6));
            assertThat(e.getValue().maxNumber().doubleValue()).as(e.getKey()).isCloseTo(1.5, org.assertj.core.data.Offset.offset(1e-6));
        }
        assertThat(counter(coordinator, "snapshots.restored")).isEqualTo(1);
    }
}
