package org.colaedge.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.colaedge.bench.CoordinatorBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code colaedge bench coordinator}: the coordinator's per-batch step, COLA vs PEFT_SERVER vs FULL. */
@Command(name = "coordinator", mixinStandardHelpOptions = true,
        header = "Per-batch coordinator step: COLA vs PEFT_SERVER vs FULL.",
        description = {
            "Per-batch coordinator step of COLA (hidden gradients only, merged and unmerged) vs PEFT_SERVER",
            "(adapter gradients + optimizer on the coordinator) vs FULL, with Linear adapters on every dense layer",
            "(conv layers: rank-8 conv adapters), on random frozen bases; time, heap allocation, GFLOP/s against",
            "a plain sgemm of the same shapes. Last line: 'coordinator step ratio cola/peft-server: X'",
            "(COLA merged vs the faster PEFT_SERVER implementation, MLP base, batch 256)."
        })
final class BenchCoordinatorCommand implements Callable<Integer> {

    @Option(names = "--models", split = ",", defaultValue = "mlp,cnn", description = "Bases to measure (default: ${DEFAULT-VALUE}).")
    List<String> models;

    @Option(names = "--batches", split = ",", defaultValue = "64,256", description = "Batch sizes (default: ${DEFAULT-VALUE}).")
    List<Integer> batches;

    @Option(names = "--reps", defaultValue = "15", description = "Measured repetitions per variant (default: ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--warmup", defaultValue = "5", description = "Warm-up repetitions (default: ${DEFAULT-VALUE}).")
    int warmup;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        var rows = new CoordinatorBench(warmup, reps, out).run(models, batches);
        Map<String, Double> headline = CoordinatorBench.print(rows, out);
        out.printf("coordinator step ratio cola/full: %.2f%n", headline.get("cola/full"));
        out.printf("coordinator step ratio cola/peft-server: %.2f%n", headline.get("cola/peft-server"));
        out.flush();
        return ColaEdge.EXIT_OK;
    }
}
