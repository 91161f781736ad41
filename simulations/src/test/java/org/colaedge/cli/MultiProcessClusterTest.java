package org.colaedge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.colaedge.common.data.Split;
import org.colaedge.common.wire.ChecksummedFile;
import org.colaedge.common.wire.TensorCodec;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.training.AdapterPlan;
import org.colaedge.coordinator.training.Batch;
import org.colaedge.coordinator.training.ColaLocalTrainer;
import org.colaedge.coordinator.training.Mode;
import org.colaedge.coordinator.training.UserRows;
import org.colaedge.edge.DeviceActor;
import org.colaedge.proto.v1.DeviceCheckpoint;
import org.colaedge.proto.v1.NamedTensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine;

/**
 * Separate JVMs: a coordinator node and an edge node training a job on real MNIST; the edge JVM is
 * killed (SIGKILL) mid-training, started again with the same checkpoint file, rejoins and finishes.
 * No update is lost: the final adapters equal COLA_LOCAL's on the same batches.
 */
class MultiProcessClusterTest {

    @TempDir
    Path dir;

    private final List<Process> processes = Collections.synchronizedList(new ArrayList<>());

    @Test
    void anEdgeNodeKilledMidTrainingRejoinsAndResumesWithNoLostUpdate() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path ckpt = dir.resolve("kill-test.ckpt");
        String[] edgeArgs = {"edge", "--seed", "127.0.0.1:" + port, "--device-id", "kill-test", "--dataset", "mnist", "--model", "mlp",
            "--adapter", "LINEAR", "--limit", "1500", "--epochs", "3", "--batch", "64", "--checkpoint", ckpt.toString()};
        try {
            List<String> coordOut = new ArrayList<>();
            Process coord = launch(coordOut, "coordinator", "--port", Integer.toString(port));
            awaitLine(coordOut, "coordinator listening", 60);

            List<String> firstOut = new ArrayList<>();
            Process first = launch(firstOut, edgeArgs);
            long killedAt = awaitCheckpointVersion(ckpt, 10, first, 120);
            first.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
            assertThat(killedAt).isGreaterThanOrEqualTo(10);

            List<String> secondOut = new ArrayList<>();
            Process second = launch(secondOut, edgeArgs);
            boolean ended = second.waitFor(300, TimeUnit.SECONDS);
            assertThat(ended).as("second edge run finished; it said:\n" + tail(secondOut) + "\ncoordinator said:\n" + tail(coordOut)).isTrue();
            String finished = secondOut.stream().filter(l -> l.contains("finished:")).findFirst().orElse(String.join("\n", secondOut));
            assertThat(second.exitValue()).as(finished).isZero();
            assertThat(secondOut).anyMatch(l -> l.contains("resumed job job-kill-test"));

            // Expected: COLA_LOCAL on exactly the batches the edge device trained on.
            EdgeCommand cmd = new EdgeCommand();
            new CommandLine(cmd).parseArgs(java.util.Arrays.copyOfRange(edgeArgs, 1, edgeArgs.length));
            Split data = cmd.options.data();
            int[] mine = cmd.options.partition(data.train().labels())[cmd.user];
            BaseModel base = CoordinatorCommand.builtInModels(10, 424242).get("mlp");
            org.colaedge.sim.DeviceBatches batches = cmd.batches(data, mine, base.inputShape());
            AdapterPlan plan = new AdapterPlan(cmd.options.adapter, cmd.options.rank, cmd.options.scaling, cmd.options.mlpHidden);
            ColaLocalTrainer local = new ColaLocalTrainer(base, plan, 1, Mode.ALONE, false, 1, cmd.options.optimizer(batches.steps()), 0);
            for (long step = 0; step < batches.steps(); step++) {
                DeviceActor.LocalBatch b = batches.batch(step);
                local.step(new Batch(b.input(), b.oneHot(), List.of(new UserRows(0, (int) b.input().size(0)))));
            }
            assertThat(finished).contains("finished: " + batches.steps() + " steps, adapter version " + batches.steps());

            DeviceCheckpoint c = DeviceCheckpoint.parseFrom(ChecksummedFile.read(ckpt, "CECK"));
            assertThat(c.getVersion()).isEqualTo(batches.steps());
            TensorCodec codec = new TensorCodec();
            double diff = 0;
            double ref = 0;
            for (NamedTensor t : c.getParametersList()) {
                String[] lp = t.getName().split("/");
                INDArray expected = local.device(0).adapter(lp[0]).param(lp[1]);
                diff = Math.max(diff, codec.decode(t.getTensor()).sub(expected).amaxNumber().doubleValue());
                ref = Math.max(ref, expected.amaxNumber().doubleValue());
            }
            assertThat(diff / ref).as("max relative difference to COLA_LOCAL").isLessThan(1e-5);
            coord.destroy();
        } finally {
            for (Process p : processes) {
                p.destroyForcibly();
            }
        }
    }

    private static String tail(List<String> lines) {
        synchronized (lines) {
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 25), lines.size()));
        }
    }

    private Process launch(List<String> lines, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
                // decide about the killed node after 5 s instead of 20 (the split brain resolver waits for stability)
                "-Dpekko.cluster.split-brain-resolver.stable-after=5s",
                "-cp", System.getProperty("java.class.path"), ColaEdge.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.environment().put("COLAEDGE_SNAPSHOT_DIR", dir.resolve("snapshots").toString());
        Process p = pb.start();
        processes.add(p);
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (lines) {
                        lines.add(line);
                    }
                }
            } catch (java.io.IOException ignored) {
                // the process ended
            }
        });
        reader.setDaemon(true);
        reader.start();
        return p;
    }

    private static void awaitLine(List<String> lines, String text, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            synchronized (lines) {
                if (lines.stream().anyMatch(l -> l.contains(text))) {
                    return;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no line containing '" + text + "' within " + seconds + " s; got:\n" + String.join("\n", lines));
    }

    private static long awaitCheckpointVersion(Path ckpt, long version, Process p, int seconds) throws Exception {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < deadline && p.isAlive()) {
            if (Files.exists(ckpt)) {
                try {
                    long v = DeviceCheckpoint.parseFrom(ChecksummedFile.read(ckpt, "CECK")).getVersion();
                    if (v >= version) {
                        return v;
                    }
                } catch (java.io.IOException racingWithTheWriter) {
                    // read again
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the edge node did not reach adapter version " + version + " (alive: " + p.isAlive() + ")");
    }
}
