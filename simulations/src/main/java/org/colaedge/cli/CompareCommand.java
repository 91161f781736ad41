package org.colaedge.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.colaedge.sim.Scenario;
import org.colaedge.sim.report.RunFolder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code colaedge compare A B ...}: several scenarios, one after another, plotted and tabulated together. */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Run several scenarios and plot them together.",
        description = {
            "Runs each scenario (built-in names or .conf files) with the same --set overrides, then writes one run folder",
            "with all their rows in metrics.csv, their learning curves in one accuracy.png / loss.png, and one summary.md."
        })
final class CompareCommand implements Callable<Integer> {

    @Parameters(arity = "2..*", paramLabel = "SCENARIO", description = "Two or more built-in scenario names or .conf files.")
    List<String> scenarios;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a key in every scenario (HOCON). Repeatable.")
    List<String> overrides = new ArrayList<>();

    @Option(names = "--name", defaultValue = "compare", description = "Name of the run folder (default: ${DEFAULT-VALUE}).")
    String name;

    @picocli.CommandLine.Mixin
    RunOptions run;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter w = spec.commandLine().getOut();
        ScenarioRunner.logLevel(run.verbose);
        List<Scenario> loaded = new ArrayList<>();
        for (String s : scenarios) {
            loaded.add(Scenario.load(s, overrides)); // all checked before anything runs
        }
        if (loaded.stream().map(Scenario::name).distinct().count() < loaded.size()) {
            throw new IllegalArgumentException("compare needs scenarios with distinct names (set name in each file)");
        }
        RunFolder folder = RunFolder.create(run.out, name);
        List<ScenarioRunner.Result> results = new ArrayList<>();
        for (Scenario s : loaded) {
            RunFolder sub = RunFolder.create(folder.dir(), s.name());
            sub.writeResolvedConfig(s.config());
            results.add(new ScenarioRunner(w, run.quiet).run(s, sub.dir()));
        }
        SimulateCommand.write(folder, name, results);
        for (ScenarioRunner.Result r : results) {
            w.printf("%-24s final test accuracy: %.4f%n", r.scenario().name(), r.finalAccuracy());
        }
        w.printf("plots: %s%n", folder.dir().resolve("accuracy.png"));
        w.flush();
        return ColaEdge.EXIT_OK;
    }
}
