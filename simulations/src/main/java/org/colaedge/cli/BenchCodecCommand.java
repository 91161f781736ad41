package org.colaedge.cli;

import java.util.Collection;
import java.util.concurrent.Callable;
import org.colaedge.bench.CodecBenchmark;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code colaedge bench codec}: JMH throughput of the tensor codec. */
@Command(name = "codec", mixinStandardHelpOptions = true,
        header = "JMH throughput of the wire tensor codec.",
        description = {
            "JMH benchmark of the wire tensor codec: encode + decode of a float32 tensor (default 64x1024),",
            "and the same through a full protobuf message serialise/parse. Reports MB/s of tensor payload.",
            "Prints a last line 'codec encode+decode MB/s: X'."
        })
final class BenchCodecCommand implements Callable<Integer> {

    @Option(names = "--forks", defaultValue = "1", description = "JMH forks (default: ${DEFAULT-VALUE}).")
    int forks;

    @Option(names = "--iterations", defaultValue = "5", description = "Measurement iterations (default: ${DEFAULT-VALUE}).")
    int iterations;

    @Option(names = "--warmup", defaultValue = "3", description = "Warm-up iterations (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--seconds", defaultValue = "1", description = "Seconds per iteration (default: ${DEFAULT-VALUE}).")
    int seconds;

    @Override
    public Integer call() throws RunnerException {
        Options opts = new OptionsBuilder()
                .include(CodecBenchmark.class.getName())
                .forks(forks)
                .warmupIterations(warmup)
                .warmupTime(TimeValue.seconds(seconds))
                .measurementIterations(iterations)
                .measurementTime(TimeValue.seconds(seconds))
                .jvmArgsAppend("-Xmx1g")
                .build();
        Collection<RunResult> results = new Runner(opts).run();
        System.out.println();
        System.out.printf("%-34s %12s %14s %10s%n", "benchmark", "ops/s", "MB/s payload", "+/- MB/s");
        double headline = Double.NaN;
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark().replaceAll(".*\\.", "");
            double opsPerSecond = r.getPrimaryResult().getScore();
            double error = r.getPrimaryResult().getScoreError();
            double payloadBytes = CodecBenchmark.payloadBytes(r.getParams().getParam("rows"), r.getParams().getParam("cols"));
            double mbs = opsPerSecond * payloadBytes / 1e6;
            System.out.printf("%-34s %12.0f %14.1f %10.1f%n", name + " " + r.getParams().getParam("rows") + "x"
                    + r.getParams().getParam("cols"), opsPerSecond, mbs, error * payloadBytes / 1e6);
            if (name.equals("encodeDecode")) {
                headline = mbs;
            }
        }
        System.out.printf("codec encode+decode MB/s: %.1f%n", headline);
        return ColaEdge.EXIT_OK;
    }
}
