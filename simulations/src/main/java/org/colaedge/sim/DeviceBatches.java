package org.colaedge.sim;

import java.util.SplittableRandom;
import org.colaedge.common.data.ImageDataset;
import org.colaedge.coordinator.training.TrainingLoop;
import org.colaedge.edge.DeviceActor;
import org.colaedge.edge.DeviceData;

/**
 * One device's training batches over all epochs, built when asked: its own samples reshuffled each
 * epoch from a seed (the same seed gives the same batches), {@code batch} rows per step, the last
 * step of an epoch smaller. Holds only index arrays, so a thousand devices cost little memory.
 */
public final class DeviceBatches implements DeviceData {

    private final ImageDataset train;
    private final int[][] orderPerEpoch;
    private final int batch;
    private final long stepsPerEpoch;
    private final long[] inputShape;

    /**
     * @param mine       the device's sample indices into {@code train}
     * @param batch      rows per step (at least 1)
     * @param inputShape per-sample shape the model takes ([784] or [1, 28, 28])
     */
    public DeviceBatches(ImageDataset train, int[] mine, int batch, int epochs, long[] inputShape, long seed) {
        if (mine.length == 0) {
            throw new IllegalArgumentException("a device needs at least one training sample");
        }
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be at least 1, was " + batch);
        }
        this.train = train;
        this.batch = batch;
        this.inputShape = inputShape.clone();
        this.stepsPerEpoch = (mine.length + batch - 1) / batch;
        this.orderPerEpoch = new int[epochs][];
        SplittableRandom rng = new SplittableRandom(seed);
        for (int e = 0; e < epochs; e++) {
            int[] order = mine.clone();
            for (int i = order.length - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
            orderPerEpoch[e] = order;
        }
    }

    public long stepsPerEpoch() {
        return stepsPerEpoch;
    }

    public int samples() {
        return orderPerEpoch[0].length;
    }

    @Override
    public long steps() {
        return stepsPerEpoch * orderPerEpoch.length;
    }

    /** Rows of {@code step}: a slice of its epoch's order. */
    public int[] rows(long step) {
        int[] order = orderPerEpoch[(int) (step / stepsPerEpoch)];
        int from = (int) (step % stepsPerEpoch) * batch;
        return java.util.Arrays.copyOfRange(order, from, Math.min(order.length, from + batch));
    }

    /** Rows in steps 0 .. steps - 1. */
    public long rowsBefore(long steps) {
        long n = orderPerEpoch[0].length;
        long full = steps / stepsPerEpoch;
        long within = steps % stepsPerEpoch;
        return full * n + Math.min(n, within * batch);
    }

    @Override
    public DeviceActor.LocalBatch batch(long step) {
        if (step < 0 || step >= steps()) {
            throw new IllegalArgumentException("step " + step + " is not one of 0.." + (steps() - 1));
        }
        int[] rows = rows(step);
        return new DeviceActor.LocalBatch(TrainingLoop.asInput(train.features(rows), inputShape), train.labelsOneHot(rows));
    }
}
