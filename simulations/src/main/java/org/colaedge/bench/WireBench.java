package org.colaedge.bench;

import com.typesafe.config.ConfigFactory;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.colaedge.common.cluster.WireEnvelope;
import org.colaedge.common.learning.HiddenGradient;
import org.colaedge.common.wire.TensorCodec;
import org.colaedge.common.wire.WireMapping;
import org.colaedge.proto.v1.DType;
import org.colaedge.proto.v1.HiddenGradients;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@code colaedge bench wire}: HiddenGradients messages between two JVMs on loopback (this one and
 * a {@link WireSinkNode} child), through Pekko Artery and the protobuf serializer, with a window of
 * messages in flight; each is acknowledged by a small reply. Reports messages/s and payload MB/s.
 */
public final class WireBench {

    /** One payload size's figures. */
    public record Row(long payloadBytes, int messages, double seconds, double messagesPerSecond, double megabytesPerSecond) { }

    private final int window;
    private final double secondsPerSize;

    public WireBench(int window, double secondsPerSize) {
        this.window = window;
        this.secondsPerSize = secondsPerSize;
    }

    public List<Row> run(List<Long> payloads, PrintWriter out) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        ProcessBuilder pb = new ProcessBuilder(javaBinary(), "-Xmx1g", "-cp", System.getProperty("java.class.path"),
                WireSinkNode.class.getName(), Integer.toString(port)).redirectError(ProcessBuilder.Redirect.DISCARD);
        Process child = pb.start();
        ActorSystem<Void> system = null;
        try {
            BufferedReader childOut = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
            String ready = childOut.readLine();
            if (ready == null || !ready.startsWith("sink ready")) {
                throw new IllegalStateException("the sink JVM did not start (said: " + ready + ")");
            }
            var config = ConfigFactory.load(ConfigFactory.parseString("colaedge.cluster.port = 0\npekko.cluster.roles = [coordinator]\n"
                    + "pekko.loglevel = WARNING\npekko.cluster.seed-nodes = [\"pekko://colaedge@127.0.0.1:" + port + "\"]\n"));
            system = ActorSystem.create(Behaviors.empty(), "colaedge", config);
            ActorRef<WireEnvelope> sink = findSink(system);
            WireMapping wire = new WireMapping(new TensorCodec(1L << 30));
            List<Row> rows = new ArrayList<>();
            for (long bytes : payloads) {
                int floats = (int) (bytes / 4);
                var g = new HiddenGradient(Nd4j.zeros(DataType.FLOAT, 1, 1), Nd4j.rand(DataType.FLOAT, 1, floats));
                HiddenGradients msg = wire.hiddenGradients("bench", "bench", 0, 0, 0, Map.of("fc1", g), DType.FLOAT32);
                // Warm-up, then a measured run of about secondsPerSize.
                measure(system, sink, msg, Math.max(4, window * 2));
                double probe = measure(system, sink, msg, Math.max(8, window * 2));
                int n = (int) Math.max(window * 2, Math.min(20_000, (Math.max(8, window * 2)) * secondsPerSize / Math.max(probe, 1e-3)));
                double secs = measure(system, sink, msg, n);
                Row r = new Row(msg.getSerializedSize(), n, secs, n / secs, n * (double) msg.getSerializedSize() / secs / 1e6);
                rows.add(r);
                out.printf("%10d B  %7d messages  %7.2f s  %9.1f msg/s  %8.1f MB/s%n", r.payloadBytes(), r.messages(), r.seconds(),
                        r.messagesPerSecond(), r.megabytesPerSecond());
                out.flush();
            }
            return rows;
        } finally {
            if (system != null) {
                system.terminate();
                system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
            }
            child.getOutputStream().close();
            if (!child.waitFor(20, TimeUnit.SECONDS)) {
                child.destroyForcibly();
            }
        }
    }

    private static ActorRef<WireEnvelope> findSink(ActorSystem<Void> system) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            Receptionist.Listing listing = AskPattern.<Receptionist.Command, Receptionist.Listing>ask(system.receptionist(),
                    reply -> Receptionist.find(WireSinkNode.SINK, reply), Duration.ofSeconds(5), system.scheduler()).toCompletableFuture().get();
            var found = listing.getServiceInstances(WireSinkNode.SINK);
            if (!found.isEmpty()) {
                return found.iterator().next();
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the sink node was not found through the Receptionist within 30 s");
    }

    private double measure(ActorSystem<Void> system, ActorRef<WireEnvelope> sink, HiddenGradients msg, int n) throws Exception {
        CompletableFuture<Double> done = new CompletableFuture<>();
        system.systemActorOf(Sender.create(sink, msg, n, window, done), "sender-" + System.nanoTime(), org.apache.pekko.actor.typed.Props.empty());
        return done.get(10, TimeUnit.MINUTES);
    }

    private static String javaBinary() {
        return java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** Sends n messages keeping {@code window} unacknowledged; completes with the elapsed seconds. */
    static final class Sender extends AbstractBehavior<WireEnvelope> {
        private final ActorRef<WireEnvelope> sink;
        private final HiddenGradients msg;
        private final int n;
        private final CompletableFuture<Double> done;
        private final long start = System.nanoTime();
        private int sent;
        private int acked;

        static Behavior<WireEnvelope> create(ActorRef<WireEnvelope> sink, HiddenGradients msg, int n, int window, CompletableFuture<Double> done) {
            return Behaviors.setup(ctx -> new Sender(ctx, sink, msg, n, window, done));
        }

        private Sender(ActorContext<WireEnvelope> ctx, ActorRef<WireEnvelope> sink, HiddenGradients msg, int n, int window, CompletableFuture<Double> done) {
            super(ctx);
            this.sink = sink;
            this.msg = msg;
            this.n = n;
            this.done = done;
            for (int i = 0; i < Math.min(window, n); i++) {
                send();
            }
        }

        private void send() {
            sink.tell(new WireEnvelope("bench", msg.toBuilder().setStep(sent++).build(), getContext().getSelf()));
        }

        @Override
        public Receive<WireEnvelope> createReceive() {
            return newReceiveBuilder().onMessage(WireEnvelope.class, this::onAck).build();
        }

        private Behavior<WireEnvelope> onAck(WireEnvelope ack) {
            acked++;
            if (acked == n) {
                done.complete((System.nanoTime() - start) / 1e9);
                return Behaviors.stopped();
            }
            if (sent < n) {
                send();
            }
            return this;
        }
    }
}
