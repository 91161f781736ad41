package org.colaedge.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import org.colaedge.bench.WireBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code colaedge bench wire}: gradient messages between two JVMs on loopback. */
@Command(name = "wire", mixinStandardHelpOptions = true,
        header = "HiddenGradients messages/s and MB/s between two JVMs on loopback.",
        description = {
            "Starts a second JVM (a one-node cluster with an acknowledging sink), joins it, and sends HiddenGradients",
            "messages of each payload size through Pekko Artery and the protobuf serializer with a window in flight.",
            "Last line: 'wire throughput MB/s: X' (the 1 MB payload)."
        })
final class BenchWireCommand implements Callable<Integer> {

    @Option(names = "--payloads", split = ",", defaultValue = "100000,1000000,16000000", description = "Payload sizes in bytes (default: ${DEFAULT-VALUE}).")
    List<Long> payloads;

    @Option(names = "--window", defaultValue = "8", description = "Messages in flight (default: ${DEFAULT-VALUE}).")
    int window;

    @Option(names = "--seconds", defaultValue = "5", description = "About how long to measure each size (default: ${DEFAULT-VALUE}).")
    double seconds;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        List<WireBench.Row> rows = new WireBench(window, seconds).run(payloads, out);
        double oneMb = rows.stream().filter(r -> r.payloadBytes() >= 900_000 && r.payloadBytes() <= 1_100_000)
                .mapToDouble(WireBench.Row::megabytesPerSecond).findFirst().orElse(Double.NaN);
        out.printf("wire throughput MB/s: %.1f%n", oneMb);
        out.flush();
        return ColaEdge.EXIT_OK;
    }
}
