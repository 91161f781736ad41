package org.colaedge.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.colaedge.sim.Scenario;

/**
 * Launches the edge JVMs of a multi-JVM run: the devices are dealt round-robin over
 * {@code run.edge-jvms} processes of this same program ({@code colaedge sim-edge}), each joining
 * the coordinator at the given address with the scenario's resolved configuration. Their output
 * goes to {@code edge-N.log} in the run folder. A shutdown hook kills them if this JVM exits early.
 */
final class EdgeJvms {

    private EdgeJvms() {
    }

    static List<Process> launch(Scenario s, Path runDir, String seed) throws IOException {
        Path scenarioFile = runDir.resolve("scenario-resolved.conf");
        Files.writeString(scenarioFile, s.render());
        Path checkpoints = Files.createDirectories(runDir.resolve("checkpoints"));
        String java = ProcessHandle.current().info().command().orElse("java");
        List<Process> processes = new ArrayList<>();
        int jvms = Math.min(s.edgeJvms(), s.users());
        for (int j = 0; j < jvms; j++) {
            List<String> ids = new ArrayList<>();
            for (int k = j; k < s.users(); k += jvms) {
                ids.add(String.valueOf(k));
            }
            List<String> cmd = List.of(java, "-Xmx" + s.edgeHeap(), "-cp", System.getProperty("java.class.path"), ColaEdge.class.getName(),
                    "sim-edge", "--scenario", scenarioFile.toString(), "--seed", seed, "--devices", String.join(",", ids),
                    "--checkpoints", checkpoints.toString());
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(runDir.resolve("edge-" + j + ".log").toFile());
            pb.environment().putIfAbsent("OMP_NUM_THREADS", "1");
            Process p = pb.start();
            Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly));
            processes.add(p);
        }
        return processes;
    }
}
