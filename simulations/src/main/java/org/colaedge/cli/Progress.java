package org.colaedge.cli;

import java.io.PrintStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.colaedge.coordinator.training.TrainingLoop;

/** A terminal progress bar with ETA on stderr (or nothing in quiet mode) for training loops. */
final class Progress implements TrainingLoop.Listener, AutoCloseable {

    private final ProgressBar bar;
    private final PrintStream err;

    Progress(String task, long totalSteps, boolean quiet) {
        this.err = System.err;
        this.bar = quiet ? null : new ProgressBarBuilder().setTaskName(task).setInitialMax(totalSteps)
                .setStyle(ProgressBarStyle.ASCII).setConsumer(new ConsoleProgressBarConsumer(err)).setUpdateIntervalMillis(500)
                .showSpeed().build();
    }

    @Override
    public void onStep(int epoch, long stepInEpoch, long stepsPerEpoch, double loss) {
        if (bar != null) {
            bar.step();
            bar.setExtraMessage(String.format(" epoch %d loss %.4f", epoch, loss));
        }
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
