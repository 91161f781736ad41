package org.colaedge.common.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.typed.SelfUp;
import org.apache.pekko.cluster.typed.Subscribe;
import org.colaedge.common.wire.TensorCodec;
import org.colaedge.proto.v1.DType;
import org.colaedge.proto.v1.ErrorCode;
import org.colaedge.proto.v1.ErrorReply;
import org.colaedge.proto.v1.HiddenGradients;
import org.colaedge.proto.v1.LayerGradient;
import org.colaedge.proto.v1.Tensor;
import org.colaedge.proto.v1.TrainingBatch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Two cluster nodes in one JVM on loopback (any free port), joined into one cluster: a coordinator
 * and an edge node that, for the sharding test, also has the coordinator role. Everything sent
 * between them crosses Artery TCP and the serializers for real.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterTransportTest {

    private static final Logger log = LoggerFactory.getLogger(ClusterTransportTest.class);
    private static final ServiceKey<WireEnvelope> GRADIENT_SINK = ServiceKey.create(WireEnvelope.class, "gradient-sink");
    private static final Duration GENEROUS = Duration.ofSeconds(30);

    private ActorTestKit coordinator;
    private ActorTestKit edge;

    @BeforeAll
    void formCluster() {
        long t0 = System.nanoTime();
        coordinator = ActorTestKit.create("ColaEdge", TestNodes.node(ClusterSettings.COORDINATOR_ROLE));
        edge = ActorTestKit.create("ColaEdge", TestNodes.node(ClusterSettings.EDGE_ROLE, ClusterSettings.COORDINATOR_ROLE));
        Address seed = Cluster.get(coordinator.system()).selfMember().address();
        joinAndAwaitUp(coordinator, seed);
        joinAndAwaitUp(edge, seed);
        log.info("two-node cluster up in {} ms", (System.nanoTime() - t0) / 1_000_000);
    }

    @AfterAll
    void stopNodes() {
        // one after the other: the edge node leaves while the coordinator can still confirm it (~1 s).
        // Terminating both at once made the coordinator wait out cluster-exiting's 10 s timeout.
        try {
            if (edge != null) {
                edge.shutdownTestKit();
            }
        } finally {
            if (coordinator != null) {
                coordinator.shutdownTestKit();
            }
        }
    }

    private static void joinAndAwaitUp(ActorTestKit node, Address seed) {
        TestProbe<SelfUp> up = node.createTestProbe();
        Cluster cluster = Cluster.get(node.system());
        cluster.subscriptions().tell(Subscribe.create(up.ref(), SelfUp.class));
        cluster.manager().tell(Join.create(seed));
        up.expectMessageClass(SelfUp.class, GENEROUS);
    }

    @Test
    void aSixteenMiBHiddenGradientsReachesAServiceFoundThroughTheReceptionist() {
        ActorSystem<Void> coordinatorSystem = coordinator.system();
        // the edge node offers a service; the coordinator finds it through the Receptionist
        TestProbe<WireEnvelope> sink = edge.createTestProbe();
        TestProbe<Receptionist.Registered> registered = edge.createTestProbe();
        edge.system().receptionist().tell(Receptionist.register(GRADIENT_SINK, sink.ref(), registered.ref()));
        registered.expectMessageClass(Receptionist.Registered.class);

        TestProbe<Receptionist.Listing> listings = coordinator.createTestProbe();
        coordinatorSystem.receptionist().tell(Receptionist.subscribe(GRADIENT_SINK, listings.ref()));
        List<Receptionist.Listing> seen = listings.fishForMessage(GENEROUS, "a listing with the edge node's sink",
                l -> l.getServiceInstances(GRADIENT_SINK).isEmpty() ? FishingOutcomes.continueAndIgnore() : FishingOutcomes.complete());
        Set<ActorRef<WireEnvelope>> instances = seen.get(seen.size() - 1).getServiceInstances(GRADIENT_SINK);
        assertThat(instances).hasSize(1);
        ActorRef<WireEnvelope> remoteSink = instances.iterator().next();
        assertThat(remoteSink.path().address()).isEqualTo(Cluster.get(edge.system()).selfMember().address());

        // 4 Mi float32 = 16 MiB of feature-map gradient
        INDArray gradient = Nd4j.rand(DataType.FLOAT, 32, 32, 64, 64);
        Tensor tensor = new TensorCodec().encode(gradient, DType.FLOAT32);
        HiddenGradients message = HiddenGradients.newBuilder().setJobId("job-big").setStep(7).setAdapterVersion(3)
                .setDeviceId("edge-1").setSamples(32).setLoss(0.125f)
                .addLayers(LayerGradient.newBuilder().setLayer("conv2").setGradient(tensor)).build();
        assertThat(tensor.getData().size()).isEqualTo(16 << 20);
        TestProbe<WireEnvelope> replies = coordinator.createTestProbe();

        long direct0 = directMemoryUsed();
        long t0 = System.nanoTime();
        remoteSink.tell(new WireEnvelope("coordinator-1", message, replies.ref()));
        WireEnvelope received = sink.receiveMessage(GENEROUS);
        long millis = (System.nanoTime() - t0) / 1_000_000;
        log.info("HiddenGradients of {} bytes delivered across Artery TCP in {} ms; direct buffers in use {} MiB before, {} MiB after",
                message.getSerializedSize(), millis, direct0 >> 20, directMemoryUsed() >> 20);

        HiddenGradients got = received.payloadAs(HiddenGradients.class);
        assertThat(got.getLayers(0).getGradient().getData()).isEqualTo(tensor.getData()); // every byte
        float[] sent = gradient.data().asFloat();
        float[] back = new TensorCodec().decode(got.getLayers(0).getGradient()).data().asFloat();
        assertThat(Arrays.equals(back, sent)).as("decoded tensor bit-exact").isTrue();
        assertThat(got.toBuilder().clearLayers().build()).isEqualTo(message.toBuilder().clearLayers().build());

        // the reply-to ref came from the other process and still works, back across the wire
        ErrorReply ack = ErrorReply.newBuilder().setCode(ErrorCode.STALE_UPDATE).setStep(7).build();
        received.replyTo().tell(new WireEnvelope("edge-1", ack, sink.ref()));
        WireEnvelope answer = replies.receiveMessage(GENEROUS);
        assertThat(answer.payload()).isEqualTo(ack);
        // the sink, as the coordinator node sees it: the same actor, reached at the edge node's address
        assertThat(answer.replyTo().path().toStringWithoutAddress()).isEqualTo(sink.ref().path().toStringWithoutAddress());
        assertThat(answer.replyTo().path().address()).isEqualTo(Cluster.get(edge.system()).selfMember().address());
    }

    @Test
    void aShardedJobEntityAnswersARequestFromTheOtherNode() {
        for (ActorTestKit node : List.of(coordinator, edge)) {
            ClusterSharding.get(node.system()).init(Entity.of(JobEntity.TYPE_KEY, ctx -> JobEntity.create(ctx.getEntityId()))
                    .withRole(ClusterSettings.COORDINATOR_ROLE));
        }
        // the entity lives on one of the two nodes: one of these two requests crosses the process boundary
        String hostOfEntity = null;
        int crossed = 0;
        for (ActorTestKit node : List.of(coordinator, edge)) {
            TestProbe<WireEnvelope> device = node.createTestProbe();
            TrainingBatch batch = TrainingBatch.newBuilder().setJobId("job-42").setDeviceId("dev-" + node.system().name())
                    .setStep(11).setInputs(Tensor.newBuilder().setDtype(DType.FLOAT32).addShape(2).addShape(1)
                            .setData(com.google.protobuf.ByteString.copyFrom(new byte[8]))).build();
            long t0 = System.nanoTime();
            ClusterSharding.get(node.system()).entityRefFor(JobEntity.TYPE_KEY, "job-42")
                    .tell(new WireEnvelope(batch.getDeviceId(), batch, device.ref()));
            WireEnvelope reply = device.receiveMessage(GENEROUS);
            String self = Cluster.get(node.system()).selfMember().address().toString();
            log.info("Job entity on {} answered a request from {} in {} ms", reply.senderId(), self,
                    (System.nanoTime() - t0) / 1_000_000);

            HiddenGradients answer = reply.payloadAs(HiddenGradients.class);
            assertThat(answer.getJobId()).isEqualTo("job-42");
            assertThat(answer.getStep()).isEqualTo(11);
            assertThat(answer.getSamples()).isEqualTo(2);
            if (hostOfEntity != null) {
                assertThat(reply.senderId()).as("one entity for one id").isEqualTo(hostOfEntity);
            }
            hostOfEntity = reply.senderId();
            if (!reply.senderId().equals(self)) {
                crossed++;
            }
        }
        assertThat(crossed).as("requests that crossed to the other node").isEqualTo(1);
    }

    private static long directMemoryUsed() {
        return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(p -> p.getName().equals("direct")).mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
    }
}
