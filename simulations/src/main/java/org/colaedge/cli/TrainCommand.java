package org.colaedge.cli;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.colaedge.common.data.Split;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.training.Trainer;
import org.colaedge.coordinator.training.TrainerKind;
import org.colaedge.coordinator.training.TrainingLoop;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code colaedge train}: one trainer in-process, with a progress bar and per-epoch figures. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Fine-tune in-process with FULL, PEFT_SERVER or COLA_LOCAL.",
        description = {
            "Fine-tunes a base model in-process with one trainer and prints per-epoch loss and test accuracy",
            "(overall and per user). FULL: all base weights; PEFT_SERVER: adapters by back-propagation on the server;",
            "COLA_LOCAL: ColA, the server computes hidden gradients only and in-process devices fit the adapters.",
            "Last line: 'final test accuracy: X'."
        })
final class TrainCommand implements Callable<Integer> {

    @Option(names = "--trainer", defaultValue = "COLA_LOCAL", description = "FULL, PEFT_SERVER or COLA_LOCAL (default: ${DEFAULT-VALUE}).")
    TrainerKind trainer;

    @Option(names = {"-q", "--quiet"}, description = "No progress bar (for CI and logs).")
    boolean quiet;

    @Mixin
    TrainOptions options;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Split data = options.data();
        BaseModel base = options.baseModel(data.train().classes());
        int[][] users = options.partition(data.train().labels());
        TrainingLoop loop = new TrainingLoop(data.train(), data.test(), users, options.batch, base.inputShape(), options.seed);
        Trainer t = options.trainer(trainer, base, loop.stepsPerEpoch());
        out.printf("train: %s on %s (%s, %d frozen parameters), %s: %d train / %d test samples, %d user(s) %s %s, %d trainable parameters%s%n",
                trainer, base.name(), options.baseFile == null ? "random frozen" : options.baseFile, base.numParams(),
                data.train().name(), data.train().size(), data.test().size(), options.users, options.mode, options.partition,
                t.trainableParameters(), trainer == TrainerKind.FULL ? "" : ", adapter " + options.adapter
                        + (trainer == TrainerKind.COLA_LOCAL ? ", I=" + options.interval + (options.merge ? ", merged" : ", unmerged") : ""));
        out.flush();
        double[] before = loop.evaluate(t);
        out.printf("epoch  0/%d  before training        test accuracy %.4f%s%n", options.epochs,
                java.util.Arrays.stream(before).average().orElse(0), perUser(before));
        out.flush();
        List<TrainingLoop.EpochStats> stats = Progress.run("train", loop, t, options.epochs, quiet, out);
        out.printf("final test accuracy: %.4f%n", stats.get(stats.size() - 1).testAccuracy());
        out.flush();
        return ColaEdge.EXIT_OK;
    }

    static String perUser(double[] acc) {
        if (acc.length <= 1) {
            return "";
        }
        return "  per user " + Arrays.toString(Arrays.stream(acc).mapToObj(a -> String.format("%.3f", a)).toArray());
    }
}
