package org.colaedge.coordinator.training;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.colaedge.common.adapter.AdapterKind;
import org.colaedge.common.data.ImageDataset;
import org.colaedge.common.data.Partition;
import org.colaedge.common.learning.OptimizerConfig;
import org.colaedge.coordinator.model.BaseModel;
import org.junit.jupiter.api.Test;

class TrainingLoopTest {

    /** 4x4 images whose class is the brightest quadrant, with noise. */
    static ImageDataset quadrants(int n, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int[] labels = new int[n];
        byte[] pixels = new byte[n * 16];
        for (int i = 0; i < n; i++) {
            int c = rng.nextInt(4);
            labels[i] = c;
            for (int p = 0; p < 16; p++) {
                int r = p / 4;
                int col = p % 4;
                int q = (r / 2) * 2 + col / 2;
                int v = (q == c ? 150 : 40) + rng.nextInt(60);
                pixels[i * 16 + p] = (byte) v;
            }
        }
        return ImageDataset.of("quadrants", ImageDataset.numberedClasses(4), 4, 4, labels, pixels);
    }

    @Test
    void colaLearnsAndEvaluatesPerUser() {
        ImageDataset train = quadrants(600, 1);
        ImageDataset test = quadrants(200, 2);
        int[][] users = Partition.iid(train.labels(), 3, 5);
        BaseModel base = BaseModel.mlp(new long[] {16}, List.of(12), 4, 3);
        TrainingLoop loop = new TrainingLoop(train, test, users, 60, base.inputShape(), 9);
        assertThat(loop.stepsPerEpoch()).isEqualTo(10);
        Trainer t = new ColaLocalTrainer(base, AdapterPlan.of(AdapterKind.LINEAR), 3, Mode.ALONE, true, 1,
                OptimizerConfig.nesterovs(0.1, 0.9), 4);
        double[] before = loop.evaluate(t);
        List<TrainingLoop.EpochStats> epochs = new ArrayList<>();
        loop.run(t, 4, new TrainingLoop.Listener() {
            @Override
            public void onEpoch(TrainingLoop.EpochStats s) {
                epochs.add(s);
            }
        });
        assertThat(epochs).hasSize(4);
        TrainingLoop.EpochStats last = epochs.get(3);
        assertThat(last.perUserAccuracy()).hasSize(3);
        assertThat(last.testAccuracy()).isGreaterThan(0.9).isGreaterThan(before[0] + 0.3);
        assertThat(last.trainLoss()).isLessThan(epochs.get(0).trainLoss());
    }

    @Test
    void sameSeedSameNumbers() {
        ImageDataset train = quadrants(300, 1);
        ImageDataset test = quadrants(100, 2);
        BaseModel base = BaseModel.mlp(new long[] {16}, List.of(8), 4, 3);
        double[] a = run(train, test, base);
        double[] b = run(train, test, base);
        assertThat(a).isEqualTo(b);
    }

    private static double[] run(ImageDataset train, ImageDataset test, BaseModel base) {
        TrainingLoop loop = new TrainingLoop(train, test, Partition.iid(train.labels(), 2, 1), 50, base.inputShape(), 3);
        Trainer t = new ColaLocalTrainer(base, AdapterPlan.of(AdapterKind.LOW_RANK), 2, Mode.ALONE, false, 2,
                OptimizerConfig.sgd(0.05), 1);
        var stats = loop.run(t, 2, new TrainingLoop.Listener() { });
        return new double[] {stats.get(1).trainLoss(), stats.get(1).testAccuracy()};
    }

    @Test
    void rejectsUsersWithoutDataAndTooSmallBatches() {
        ImageDataset d = quadrants(10, 1);
        assertThatThrownBy(() -> new TrainingLoop(d, d, new int[][] {{0, 1}, {}}, 8, new long[] {16}, 1)).hasMessageContaining("user 1 has no training data");
        assertThatThrownBy(() -> new TrainingLoop(d, d, new int[][] {{0}, {1}, {2}}, 2, new long[] {16}, 1)).hasMessageContaining("smaller than the number of users");
    }
}
