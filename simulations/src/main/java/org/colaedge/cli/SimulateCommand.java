package org.colaedge.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.colaedge.sim.Scenario;
import org.colaedge.sim.report.MetricsCsv;
import org.colaedge.sim.report.Plots;
import org.colaedge.sim.report.RunFolder;
import org.colaedge.sim.report.SummaryTable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code colaedge simulate [SCENARIO]}: one cluster-simulation run, with its run folder. */
@Command(name = "simulate", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Run a simulation scenario (default: 8 devices collaborating on Fashion-MNIST) and write its run folder.",
        description = {
            "Runs a scenario: a built-in name or a HOCON file (see docs/simulations.md). With no argument, the embedded",
            "default: Fashion-MNIST, the MLP base, 8 edge devices collaborating (col) with linear adapters merged into the",
            "base, asynchronous, I=1, 10 epochs, with PEFT_SERVER on the same base, adapters, data and epochs beside it.",
            "Writes metrics.csv, accuracy.png / loss.png, summary.md and config.conf (the resolved scenario) to a new",
            "folder under --out; prints 'final test accuracy: X' and where the plots are."
        })
final class SimulateCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", defaultValue = "default", paramLabel = "SCENARIO",
            description = "Built-in scenario name or .conf file (default: ${DEFAULT-VALUE}).")
    String scenario;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a scenario key (HOCON), e.g. --set epochs=2. Repeatable.")
    List<String> overrides = new ArrayList<>();

    @picocli.CommandLine.Mixin
    RunOptions run;

    @Option(names = "--list", description = "List the built-in scenarios and exit.")
    boolean list;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter w = spec.commandLine().getOut();
        ScenarioRunner.logLevel(run.verbose);
        if (list) {
            for (String name : Scenario.BUILT_IN) {
                w.printf("%-20s %s%n", name, Scenario.load(name, List.of()).description());
            }
            w.flush();
            return ColaEdge.EXIT_OK;
        }
        Scenario s = Scenario.load(scenario, overrides);
        RunFolder folder = RunFolder.create(run.out, s.name());
        folder.writeResolvedConfig(s.config());
        ScenarioRunner.Result r = new ScenarioRunner(w, run.quiet).run(s, folder.dir());
        write(folder, s.name(), List.of(r));
        w.printf("final test accuracy: %.4f%n", r.finalAccuracy());
        w.printf("plots: %s (metrics.csv, summary.md, config.conf beside them)%n", folder.dir().resolve("accuracy.png"));
        w.flush();
        return ColaEdge.EXIT_OK;
    }

    /** metrics.csv, the plots and summary.md of one or more scenarios' results. */
    static void write(RunFolder folder, String title, List<ScenarioRunner.Result> results) throws java.io.IOException {
        List<org.colaedge.sim.report.MetricsRow> rows = new ArrayList<>();
        Map<String, List<org.colaedge.sim.report.MetricsRow>> series = new LinkedHashMap<>();
        Map<String, Double> speed = new LinkedHashMap<>();
        Map<String, String> facts = new LinkedHashMap<>();
        List<ScenarioRunner.Result> all = new ArrayList<>();
        for (ScenarioRunner.Result r : results) {
            all.add(r);
            all.addAll(r.references()); // reference trainers' curves beside the scenario's
        }
        for (ScenarioRunner.Result r : all) {
            rows.addAll(r.rows());
            series.put(r.scenario().name(), r.rows());
            speed.put(r.scenario().name(), r.samplesPerSecond());
        }
        for (ScenarioRunner.Result r : results) {
            r.facts().forEach((k, v) -> facts.put(results.size() == 1 ? k : r.scenario().name() + ": " + k, v));
        }
        MetricsCsv.write(folder.path("metrics.csv"), rows);
        Plots.writeAll(folder.dir(), series);
        List<String> notes = new ArrayList<>();
        for (ScenarioRunner.Result r : results) {
            notes.add(r.scenario().name() + ": " + r.scenario().description());
        }
        notes.add("Bytes are serialized wire-message sizes at the coordinator: sent = HiddenGradients to devices, received = batches and "
                + "adapter updates from them. Staleness: steps the coordinator had already computed with the adapter version it used.");
        SummaryTable.write(folder.path("summary.md"), title, series, speed, facts, notes);
    }
}
