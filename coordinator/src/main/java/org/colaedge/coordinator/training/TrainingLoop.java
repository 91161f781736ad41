package org.colaedge.coordinator.training;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.colaedge.common.data.ImageDataset;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Drives any {@link Trainer} over the same data pipeline: each step draws a batch of about
 * {@code batchSize} rows, split among the users in proportion to their data (each user's rows
 * come from its own reshuffled stream), grouped by user; an epoch is ceil(N / batchSize) steps.
 * After each epoch the test split is evaluated with every model the trainer serves.
 */
public final class TrainingLoop {

    /** Per-epoch figures. Overall accuracy is the mean over the served models (one per user in ALONE mode). */
    public record EpochStats(int epoch, double trainLoss, double testAccuracy, double[] perUserAccuracy, long steps, double seconds) { }

    /** Progress callbacks (a progress bar, a metrics file). */
    public interface Listener {
        default void onStep(int epoch, long stepInEpoch, long stepsPerEpoch, double loss) {
        }

        default void onEpoch(EpochStats stats) {
        }
    }

    private final ImageDataset train;
    private final ImageDataset test;
    private final int[][] users;
    private final int batchSize;
    private final long[] inputShape;
    private final long seed;

    /**
     * @param users      user -> indices into {@code train} (a partition)
     * @param inputShape per-sample shape the model takes ([784] or [1, 28, 28])
     */
    public TrainingLoop(ImageDataset train, ImageDataset test, int[][] users, int batchSize, long[] inputShape, long seed) {
        if (batchSize < users.length) {
            throw new IllegalArgumentException("batch size " + batchSize + " is smaller than the number of users " + users.length);
        }
        for (int u = 0; u < users.length; u++) {
            if (users[u].length == 0) {
                throw new IllegalArgumentException("user " + u + " has no training data");
            }
        }
        this.train = train;
        this.test = test;
        this.users = users;
        this.batchSize = batchSize;
        this.inputShape = inputShape.clone();
        this.seed = seed;
    }

    public long stepsPerEpoch() {
        long n = Arrays.stream(users).mapToLong(u -> u.length).sum();
        return (n + batchSize - 1) / batchSize;
    }

    public List<EpochStats> run(Trainer trainer, int epochs, Listener listener) {
        UserStream[] streams = new UserStream[users.length];
        long total = Arrays.stream(users).mapToLong(u -> u.length).sum();
        int[] perUser = new int[users.length];
        for (int u = 0; u < users.length; u++) {
            streams[u] = new UserStream(users[u], new SplittableRandom(seed * 31 + u));
            perUser[u] = (int) Math.max(1, Math.round((double) batchSize * users[u].length / total));
        }
        List<EpochStats> stats = new ArrayList<>();
        long steps = stepsPerEpoch();
        for (int epoch = 1; epoch <= epochs; epoch++) {
            long start = System.nanoTime();
            trainer.startEpoch(epoch - 1);
            double lossSum = 0;
            for (long s = 0; s < steps; s++) {
                List<UserRows> groups = new ArrayList<>();
                int[] rows = new int[Arrays.stream(perUser).sum()];
                int at = 0;
                for (int u = 0; u < users.length; u++) {
                    for (int k = 0; k < perUser[u]; k++) {
                        rows[at++] = streams[u].next();
                    }
                    groups.add(new UserRows(u, perUser[u]));
                }
                Batch b = new Batch(asInput(train.features(rows), inputShape), train.labelsOneHot(rows), groups);
                double loss = trainer.step(b);
                lossSum += loss;
                listener.onStep(epoch, s + 1, steps, loss);
            }
            if (epoch == epochs) {
                trainer.finish();
            }
            double[] acc = evaluate(trainer);
            double overall = Arrays.stream(acc).average().orElse(0);
            EpochStats e = new EpochStats(epoch, lossSum / steps, overall, acc, steps, (System.nanoTime() - start) / 1e9);
            stats.add(e);
            listener.onEpoch(e);
        }
        return stats;
    }

    /** Test accuracy of each served model on the whole test split. */
    public double[] evaluate(Trainer trainer) {
        List<java.util.function.UnaryOperator<INDArray>> models = new ArrayList<>();
        for (int m = 0; m < trainer.evaluatedModels(); m++) {
            int model = m;
            models.add(x -> trainer.logits(x, model));
        }
        return accuracy(test, inputShape, models);
    }

    /**
     * Accuracy of each model (input rows to logits) on the whole of {@code test}, in chunks of
     * 1,000 rows; every model sees the same chunks.
     */
    public static double[] accuracy(ImageDataset test, long[] inputShape, List<java.util.function.UnaryOperator<INDArray>> models) {
        long[] correct = new long[models.size()];
        int chunk = 1000;
        for (int from = 0; from < test.size(); from += chunk) {
            int n = Math.min(chunk, test.size() - from);
            int[] idx = new int[n];
            for (int i = 0; i < n; i++) {
                idx[i] = from + i;
            }
            INDArray x = asInput(test.features(idx), inputShape);
            for (int m = 0; m < models.size(); m++) {
                INDArray predicted = models.get(m).apply(x).argMax(1);
                for (int i = 0; i < n; i++) {
                    if (predicted.getInt(i) == test.label(idx[i])) {
                        correct[m]++;
                    }
                }
            }
        }
        double[] acc = new double[models.size()];
        for (int m = 0; m < models.size(); m++) {
            acc[m] = (double) correct[m] / test.size();
        }
        return acc;
    }

    /** Rows of flat features [n, f] as the model's input [n, ...inputShape] ([784], or [1, 28, 28]). */
    public static INDArray asInput(INDArray flat, long[] inputShape) {
        if (inputShape.length == 1) {
            return flat;
        }
        long[] s = new long[inputShape.length + 1];
        s[0] = flat.size(0);
        System.arraycopy(inputShape, 0, s, 1, inputShape.length);
        return flat.reshape('c', s);
    }

    /** A user's indices, reshuffled on every pass. */
    private static final class UserStream {
        private final int[] order;
        private final SplittableRandom rng;
        private int pos;

        UserStream(int[] indices, SplittableRandom rng) {
            this.order = indices.clone();
            this.rng = rng;
            shuffle();
        }

        int next() {
            if (pos == order.length) {
                shuffle();
            }
            return order[pos++];
        }

        private void shuffle() {
            for (int i = order.length - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            pos = 0;
        }
    }
}
