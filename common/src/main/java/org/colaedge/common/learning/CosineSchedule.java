package org.colaedge.common.learning;

import org.nd4j.linalg.schedule.ISchedule;

/**
 * Cosine annealing as a DL4J {@link ISchedule} (DL4J 1.0.0-M2.1 ships none):
 * lr(t) = min + (max - min) * (1 + cos(pi * min(t, T) / T)) / 2, t counted in optimizer steps.
 */
public final class CosineSchedule implements ISchedule {

    private static final long serialVersionUID = 1L;

    private final double max;
    private final double min;
    private final int totalSteps;

    public CosineSchedule(double max, double min, int totalSteps) {
        this.max = max;
        this.min = min;
        this.totalSteps = totalSteps;
    }

    @Override
    public double valueAt(int iteration, int epoch) {
        double t = Math.min(iteration, totalSteps) / (double) totalSteps;
        return min + (max - min) * 0.5 * (1 + Math.cos(Math.PI * t));
    }

    @Override
    public ISchedule clone() {
        return new CosineSchedule(max, min, totalSteps);
    }
}
