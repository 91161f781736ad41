package org.colaedge.cli;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.colaedge.coordinator.training.TrainingLoop;

/** A terminal progress bar with ETA on stderr (or nothing in quiet mode) for training loops. */
final class Progress implements TrainingLoop.Listener, AutoCloseable {

    private final ProgressBar bar;

    Progress(String task, long totalSteps, boolean quiet) {
        this.bar = bar(task, totalSteps, quiet);
    }

    /** A progress bar with ETA on stderr, or null in quiet mode. */
    static ProgressBar bar(String task, long totalSteps, boolean quiet) {
        return quiet ? null : new ProgressBarBuilder().setTaskName(task).setInitialMax(totalSteps)
                .setStyle(ProgressBarStyle.ASCII).setConsumer(new ConsoleProgressBarConsumer(System.err)).setUpdateIntervalMillis(500)
                .showSpeed().build();
    }

    @Override
    public void onStep(int epoch, long stepInEpoch, long stepsPerEpoch, double loss) {
        if (bar != null) {
            bar.step();
            bar.setExtraMessage(String.format(" epoch %d loss %.4f", epoch, loss));
        }
    }

    /**
     * Runs {@code loop} with a progress bar, printing one line per epoch to {@code out}; returns the
     * per-epoch figures.
     */
    static java.util.List<TrainingLoop.EpochStats> run(String task, TrainingLoop loop,
                                                       org.colaedge.coordinator.training.Trainer trainer, int epochs,
                                                       boolean quiet, java.io.PrintWriter out) {
        try (Progress progress = new Progress(task, loop.stepsPerEpoch() * epochs, quiet)) {
            return loop.run(trainer, epochs, new TrainingLoop.Listener() {
                @Override
                public void onStep(int epoch, long s, long total, double loss) {
                    progress.onStep(epoch, s, total, loss);
                }

                @Override
                public void onEpoch(TrainingLoop.EpochStats e) {
                    out.printf("epoch %2d/%d  train loss %.4f  test accuracy %.4f%s  (%.1f s)%n", e.epoch(), epochs,
                            e.trainLoss(), e.testAccuracy(), TrainCommand.perUser(e.perUserAccuracy()), e.seconds());
                    out.flush();
                }
            });
        }
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
