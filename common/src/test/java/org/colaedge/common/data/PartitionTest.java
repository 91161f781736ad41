package org.colaedge.common.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PartitionTest {

    /** 10 classes x perClass samples, shuffled so that index order says nothing about the class. */
    private static int[] balancedLabels(int perClass, long seed) {
        int[] labels = new int[10 * perClass];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = i % 10;
        }
        Sampling.shuffle(labels, new SplittableRandom(seed));
        return labels;
    }

    private static void assertExactCover(int[][] parts, int n) {
        int[] all = Arrays.stream(parts).flatMapToInt(Arrays::stream).sorted().toArray();
        assertThat(all).as("every sample exactly once").isEqualTo(IntStream.range(0, n).toArray());
        for (int u = 0; u < parts.length; u++) {
            assertThat(parts[u]).as("user %d", u).isNotEmpty().isSorted();
        }
    }

    /** Mean over users of (samples of the user's most frequent class) / (user's samples). */
    private static double meanMaxClassShare(int[][] parts, int[] labels) {
        double sum = 0;
        for (int[] part : parts) {
            int[] counts = new int[10];
            for (int i : part) {
                counts[labels[i]]++;
            }
            sum += (double) Arrays.stream(counts).max().orElseThrow() / part.length;
        }
        return sum / parts.length;
    }

    private static long classesOf(int[] part, int[] labels) {
        return Arrays.stream(part).map(i -> labels[i]).distinct().count();
    }

    @Test
    void iidIsAnExactNearEqualCoverAndDeterministic() {
        int[] labels = balancedLabels(101, 1);
        int[][] parts = Partition.iid(labels, 7, 5);
        assertExactCover(parts, labels.length);
        assertThat(Arrays.stream(parts).mapToInt(p -> p.length)).allMatch(s -> s == 144 || s == 145);
        assertThat(Partition.iid(labels, 7, 5)).isDeepEqualTo(parts);
        assertThat(Arrays.deepEquals(Partition.iid(labels, 7, 6), parts)).isFalse();
        assertThat(meanMaxClassShare(parts, labels)).isLessThan(0.2);
    }

    @Test
    void smallAlphaDirichletIsSkewedAndLargeAlphaNearUniform() {
        int[] labels = balancedLabels(600, 2);
        int[][] skewed = Partition.dirichlet(labels, 10, 0.1, 11);
        assertExactCover(skewed, labels.length);
        assertThat(meanMaxClassShare(skewed, labels)).isGreaterThan(0.5);

        int[][] even = Partition.dirichlet(labels, 10, 100, 11);
        assertExactCover(even, labels.length);
        assertThat(meanMaxClassShare(even, labels)).isLessThan(0.15);
        assertThat(Arrays.stream(even).mapToInt(p -> p.length)).allMatch(s -> s > 450 && s < 750);

        assertThat(Partition.dirichlet(labels, 10, 0.1, 11)).isDeepEqualTo(skewed);
        assertThat(Arrays.deepEquals(Partition.dirichlet(labels, 10, 0.1, 12), skewed)).isFalse();
    }

    @Test
    void dirichletGivesEveryUserASampleEvenWhenEveryDrawLeavesOneEmpty() {
        int[] labels = balancedLabels(10, 3); // 100 samples
        int[][] parts = Partition.dirichlet(labels, 100, 0.01, 4); // needs the one-sample fallback
        assertExactCover(parts, labels.length);
        assertThat(Arrays.stream(parts).mapToInt(p -> p.length)).allMatch(s -> s == 1);

        int[][] manyUsers = Partition.dirichlet(balancedLabels(50, 5), 60, 0.05, 6);
        assertExactCover(manyUsers, 500);
        assertThatThrownBy(() -> Partition.dirichlet(labels, 3, 0, 1)).hasMessageContaining("alpha must be positive");
        assertThatThrownBy(() -> Partition.dirichlet(labels, 101, 1, 1)).hasMessageContaining("101 users cannot each get a sample");
    }

    @Test
    void shardsBoundTheClassesPerUser() {
        // Aligned: 10 classes x 100, 20 shards of 50: every shard is one class.
        int[] labels = balancedLabels(100, 7);
        int[][] parts = Partition.shards(labels, 10, 2, 8);
        assertExactCover(parts, labels.length);
        for (int[] part : parts) {
            assertThat(part).hasSize(100);
            assertThat(classesOf(part, labels)).isBetween(1L, 2L);
        }
        assertThat(Partition.shards(labels, 10, 2, 8)).isDeepEqualTo(parts);
        assertThat(Arrays.deepEquals(Partition.shards(labels, 10, 2, 9), parts)).isFalse();

        // Not aligned: 1,000 samples, 21 users x 3 shards of 15 or 16; a shard spans at most 2 classes.
        int[][] uneven = Partition.shards(labels, 21, 3, 8);
        assertExactCover(uneven, labels.length);
        for (int[] part : uneven) {
            assertThat(part.length).isBetween(45, 48);
            assertThat(classesOf(part, labels)).isLessThanOrEqualTo(6L);
        }
        assertThat(meanMaxClassShare(uneven, labels)).isGreaterThan(0.4);
        assertThatThrownBy(() -> Partition.shards(labels, 600, 2, 1)).hasMessageContaining("more than the 1000 samples");
    }
}
