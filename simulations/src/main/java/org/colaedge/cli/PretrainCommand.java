package org.colaedge.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import org.colaedge.common.data.Split;
import org.colaedge.coordinator.model.BaseModel;
import org.colaedge.coordinator.model.BaseModelFiles;
import org.colaedge.coordinator.training.FullTrainer;
import org.colaedge.coordinator.training.TrainerKind;
import org.colaedge.coordinator.training.TrainingLoop;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code colaedge pretrain}: trains a base model fully and saves it for transfer experiments. */
@Command(name = "pretrain", mixinStandardHelpOptions = true, sortOptions = false,
        header = "Train a base model fully and save it for transfer experiments.",
        description = {
            "Trains a base model (all weights) and saves it as a ColA Edge base-model file, e.g. the CNN on",
            "classes 0-4 of MNIST, to fine-tune later on held-out classes with --base-file.",
            "Example: colaedge pretrain --model cnn --dataset mnist --classes 0-4 --epochs 3 --out runs/cnn-mnist-0-4.cebm"
        })
final class PretrainCommand implements Callable<Integer> {

    @Option(names = "--out", required = true, description = "Where to write the model file.")
    Path out;

    @Option(names = {"-q", "--quiet"}, description = "No progress bar.")
    boolean quiet;

    @Mixin
    TrainOptions options;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter w = spec.commandLine().getOut();
        Split data = options.data();
        BaseModel base = options.baseModel(data.train().classes());
        TrainingLoop loop = new TrainingLoop(data.train(), data.test(), new int[][] {data.train().allIndices()}, options.batch,
                base.inputShape(), options.seed);
        FullTrainer t = (FullTrainer) options.trainer(TrainerKind.FULL, base, loop.stepsPerEpoch());
        w.printf("pretrain: %s on %s, %d train / %d test samples, %d epochs%n", base.name(), data.train().name(),
                data.train().size(), data.test().size(), options.epochs);
        w.flush();
        List<TrainingLoop.EpochStats> stats = Progress.run("pretrain", loop, t, options.epochs, quiet, w);
        String description = "colaedge pretrain --model " + options.model + " --dataset " + options.dataset
                + (options.classes == null ? "" : " --classes " + options.classes) + " --epochs " + options.epochs + " --random-seed " + options.seed
                + "; test accuracy " + String.format("%.4f", stats.get(stats.size() - 1).testAccuracy());
        BaseModelFiles.save(t.trainedModel(base.name() + "-pretrained"), out, description);
        w.printf("final test accuracy: %.4f%n", stats.get(stats.size() - 1).testAccuracy());
        w.printf("saved %s%n", out.toAbsolutePath());
        w.flush();
        return ColaEdge.EXIT_OK;
    }
}
