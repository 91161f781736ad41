package org.colaedge.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import me.tongfei.progressbar.ProgressBar;
import org.colaedge.coordinator.training.Mode;
import org.colaedge.coordinator.training.Trainer;
import org.colaedge.coordinator.training.TrainerKind;
import org.colaedge.coordinator.training.TrainingLoop;
import org.colaedge.sim.Scenario;
import org.colaedge.sim.Simulation;
import org.colaedge.sim.SimulationSetup;
import org.colaedge.sim.report.MetricsRow;

/**
 * Runs one scenario: the distributed ColA system ({@code trainer = COLA}, in this JVM or with edge
 * JVMs it launches) or an in-process trainer, then the scenario's reference trainers; returns the
 * per-epoch rows and the facts for the summary.
 */
final class ScenarioRunner {

    /** One scenario's figures: its rows, final accuracy, samples/s, and facts for the summary. */
    record Result(Scenario scenario, List<MetricsRow> rows, double finalAccuracy, double samplesPerSecond, Map<String, String> facts,
                  List<Result> references) {
        Result(Scenario scenario, List<MetricsRow> rows, double finalAccuracy, double samplesPerSecond, Map<String, String> facts) {
            this(scenario, rows, finalAccuracy, samplesPerSecond, facts, List.of());
        }
    }

    private final PrintWriter out;
    private final boolean quiet;

    ScenarioRunner(PrintWriter out, boolean quiet) {
        this.out = out;
        this.quiet = quiet;
    }

    Result run(Scenario s, Path runDir) throws Exception {
        SimulationSetup setup = TrainOptions.setup(s);
        out.printf("scenario %s: %s%n  %s base on %s, %d %s, %s adapters%s, I=%d, %s, %d epochs, %s%n", s.name(), s.description(), s.model(),
                s.dataset(), s.users(), s.users() == 1 ? "user" : "users (" + s.partition() + ")", s.adapter(),
                s.merge() || s.mode() == Mode.COL ? " merged" : "", s.interval(), s.trainer() == Scenario.Trainer.COLA
                        ? s.mode() + ", asynchronous, " + s.where().name().toLowerCase().replace('_', '-') : s.trainer() + " in-process",
                s.epochs(), setup.data().train().size() + " train / " + setup.data().test().size() + " test samples");
        out.flush();
        Map<String, String> facts = new LinkedHashMap<>();
        Result main = s.trainer() == Scenario.Trainer.COLA ? distributed(setup, runDir, facts) : inProcess(s, setup, s.name(), facts);
        List<Result> refs = new ArrayList<>();
        for (Scenario.Trainer ref : s.references()) {
            Scenario r = s.with("trainer = " + ref + "\nusers = 1\npartition = iid\nmode = ALONE\nname = \"" + s.name() + "-" + ref + "\"");
            out.printf("reference: %s on the same base, adapters, data and epochs (one user, centralized)%n", ref);
            out.flush();
            Result rr = inProcess(r, TrainOptions.setup(r), r.name(), new LinkedHashMap<>());
            refs.add(rr);
            facts.put(ref + " accuracy for the same base, adapters, data and epochs (centralized, in-process)", String.format("%.4f", rr.finalAccuracy()));
        }
        return new Result(s, main.rows(), main.finalAccuracy(), main.samplesPerSecond(), facts, refs);
    }

    private Result distributed(SimulationSetup setup, Path runDir, Map<String, String> facts) throws Exception {
        Scenario s = setup.scenario();
        Simulation sim = new Simulation(setup);
        Simulation.Outcome o;
        try (ProgressBar bar = Progress.bar(s.name(), sim.totalSteps(), quiet)) {
            o = sim.run(runDir, new Simulation.Listener() {
                @Override
                public void progress(long done, long total, double loss) {
                    if (bar != null) {
                        bar.stepTo(done);
                        if (!Double.isNaN(loss)) {
                            bar.setExtraMessage(String.format(" loss %.4f", loss));
                        }
                    }
                }

                @Override
                public void epoch(MetricsRow r) {
                    printEpoch(r, s.epochs());
                }
            }, seed -> EdgeJvms.launch(s, runDir, seed));
        }
        facts.put("devices", String.valueOf(s.users()));
        facts.put("samples trained", String.valueOf(o.samples()));
        facts.put("wall time s", String.format("%.1f", o.seconds()));
        facts.put("samples/s", String.format("%.0f", o.samples() / o.seconds()));
        facts.put("error replies", String.valueOf(o.errors()));
        if (!s.crashes().isEmpty()) {
            facts.put("device restarts after emulated crashes", String.valueOf(o.restarts()));
        }
        return new Result(s, o.rows(), o.finalAccuracy(), o.samples() / o.seconds(), facts);
    }

    private Result inProcess(Scenario s, SimulationSetup setup, String series, Map<String, String> facts) {
        TrainOptions o = TrainOptions.of(s);
        TrainingLoop loop = new TrainingLoop(setup.data().train(), setup.data().test(), setup.users(), s.batch(), setup.base().inputShape(), s.seed());
        TrainerKind kind = TrainerKind.valueOf(s.trainer().name());
        Trainer t = o.trainer(kind, setup.base(), loop.stepsPerEpoch());
        List<MetricsRow> rows = new ArrayList<>();
        long start = System.nanoTime();
        long[] steps = {0};
        double[] seconds = {0};
        try (ProgressBar bar = Progress.bar(series, loop.stepsPerEpoch() * s.epochs(), quiet)) {
            loop.run(t, s.epochs(), new TrainingLoop.Listener() {
                @Override
                public void onStep(int epoch, long step, long perEpoch, double loss) {
                    if (bar != null) {
                        bar.step();
                    }
                }

                @Override
                public void onEpoch(TrainingLoop.EpochStats e) {
                    steps[0] += e.steps();
                    seconds[0] = (System.nanoTime() - start) / 1e9;
                    MetricsRow r = new MetricsRow(series, e.epoch(), steps[0], seconds[0], e.trainLoss(), e.testAccuracy(),
                            e.perUserAccuracy().length > 1 ? e.perUserAccuracy() : new double[0], 0, 0, 0, 0);
                    rows.add(r);
                    printEpoch(r, s.epochs());
                }
            });
        }
        long samples = (long) setup.data().train().size() * s.epochs();
        return new Result(s, rows, rows.get(rows.size() - 1).testAccuracy(), samples / seconds[0], facts);
    }

    private void printEpoch(MetricsRow r, int epochs) {
        out.printf("epoch %2d/%d  train loss %.4f  test accuracy %.4f%s  (%.1f s)%n", r.epoch(), epochs, r.trainLoss(), r.testAccuracy(),
                r.users() > 1 && r.users() <= 16 ? TrainCommand.perUser(r.userAccuracy()) : "", r.elapsedSeconds());
        out.flush();
    }


    /** Without --verbose only warnings reach the terminal (jobs and devices log each start at INFO). */
    static void logLevel(boolean verbose) {
        if (!verbose && org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME) instanceof ch.qos.logback.classic.Logger root) {
            root.setLevel(ch.qos.logback.classic.Level.WARN);
        }
    }
}
