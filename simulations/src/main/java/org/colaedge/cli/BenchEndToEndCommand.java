package org.colaedge.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.colaedge.coordinator.training.Trainer;
import org.colaedge.coordinator.training.TrainerKind;
import org.colaedge.coordinator.training.TrainingLoop;
import org.colaedge.sim.Scenario;
import org.colaedge.sim.Simulation;
import org.colaedge.sim.SimulationSetup;
import org.colaedge.sim.report.MetricsRow;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code colaedge bench e2e}: samples/s of one distributed job (coordinator node + one device,
 * in one JVM and with the device in its own JVM) against COLA_LOCAL in-process on the same model,
 * data, batch and adapters, measured side by side in one run.
 */
@Command(name = "e2e", mixinStandardHelpOptions = true,
        header = "End-to-end samples/s: a distributed job vs COLA_LOCAL in-process.",
        description = {
            "One user, Fashion-MNIST, the MLP base, merged linear adapters, batch 256: COLA_LOCAL in-process (the",
            "coordinator's engine and the device's learner called in turn), then the same job through the actor",
            "system with the device in this JVM, then with the device in a second JVM (Artery TCP, protobuf).",
            "Steady state: the first epoch (warm-up, graph building, JVM start) is not counted, nor evaluation.",
            "Last line: 'e2e samples/s ratio distributed/cola-local: X' (the two-JVM run)."
        })
final class BenchEndToEndCommand implements Callable<Integer> {

    @Option(names = "--limit", defaultValue = "15000", description = "Training samples (default: ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = "--epochs", defaultValue = "4", description = "Epochs, the first one not counted (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--interval", defaultValue = "1", description = "ColA interval I (default: ${DEFAULT-VALUE}).")
    int interval;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (epochs < 2) {
            throw new IllegalArgumentException("--epochs must be at least 2 (the first one is warm-up)");
        }
        PrintWriter out = spec.commandLine().getOut();
        Scenario s = Scenario.load("default", List.of("name = e2e", "users = 1", "mode = ALONE", "references = []", "limit = " + limit,
                "epochs = " + epochs, "interval = " + interval, "run.edge-jvms = 1"));
        SimulationSetup setup = TrainOptions.setup(s);
        double local = colaLocal(s, setup);
        out.printf("%-34s %10.0f samples/s%n", "COLA_LOCAL in-process", local);
        out.flush();
        Path dir = Files.createTempDirectory("colaedge-e2e");
        double inJvm = distributed(setup, dir.resolve("in-jvm"));
        out.printf("%-34s %10.0f samples/s  (%.2fx)%n", "distributed, device in this JVM", inJvm, inJvm / local);
        out.flush();
        Scenario multi = s.with("run.where = multi-jvm");
        double twoJvms = distributed(TrainOptions.setup(multi), dir.resolve("multi-jvm"));
        out.printf("%-34s %10.0f samples/s  (%.2fx)%n", "distributed, device in its own JVM", twoJvms, twoJvms / local);
        out.printf("e2e samples/s ratio distributed/cola-local: %.2f%n", twoJvms / local);
        out.flush();
        return ColaEdge.EXIT_OK;
    }

    /** Steady-state samples/s of COLA_LOCAL: step time only, epochs after the first. */
    private static double colaLocal(Scenario s, SimulationSetup setup) {
        TrainingLoop loop = new TrainingLoop(setup.data().train(), setup.data().test(), setup.users(), s.batch(), setup.base().inputShape(), s.seed());
        Trainer t = TrainOptions.of(s).trainer(TrainerKind.COLA_LOCAL, setup.base(), loop.stepsPerEpoch());
        long[] nanos = {0};
        long[] last = {0};
        loop.run(t, s.epochs(), new TrainingLoop.Listener() {
            @Override
            public void onStep(int epoch, long step, long perEpoch, double loss) {
                long now = System.nanoTime();
                if (epoch > 1 && step > 1) {
                    nanos[0] += now - last[0];
                }
                last[0] = now;
            }
        });
        long countedSteps = (s.epochs() - 1) * (loop.stepsPerEpoch() - 1);
        return countedSteps * (double) setup.data().train().size() / loop.stepsPerEpoch() / (nanos[0] / 1e9);
    }

    /** Steady-state samples/s of the distributed job: epochs after the first, from the run's epoch rows. */
    private static double distributed(SimulationSetup setup, Path dir) throws Exception {
        Files.createDirectories(dir);
        Scenario s = setup.scenario();
        List<MetricsRow> rows = new Simulation(setup).run(dir, new Simulation.Listener() { }, seed -> EdgeJvms.launch(s, dir, seed)).rows();
        List<MetricsRow> steady = new ArrayList<>(rows.subList(1, rows.size()));
        double seconds = steady.get(steady.size() - 1).elapsedSeconds() - rows.get(0).elapsedSeconds();
        long samples = (long) setup.data().train().size() * steady.size();
        return samples / seconds;
    }
}
