package org.colaedge.common.learning;

import org.nd4j.linalg.schedule.ISchedule;

/**
 * How the learning rate changes over optimizer steps. Converted to a DL4J {@link ISchedule} that
 * the DL4J updaters consume.
 */
public sealed interface LearningRateSchedule {

    ISchedule toSchedule(double baseLearningRate);

    /** A constant learning rate. */
    record Constant() implements LearningRateSchedule {
        @Override
        public ISchedule toSchedule(double baseLearningRate) {
            return new org.nd4j.linalg.schedule.FixedSchedule(baseLearningRate);
        }
    }

    /** Cosine annealing from the base rate to {@code minFraction * base} over {@code totalSteps}. */
    record Cosine(int totalSteps, double minFraction) implements LearningRateSchedule {
        public Cosine {
            if (totalSteps < 1) {
                throw new IllegalArgumentException("cosine schedule needs totalSteps >= 1, was " + totalSteps);
            }
            if (minFraction < 0 || minFraction > 1) {
                throw new IllegalArgumentException("cosine schedule minFraction must be in [0, 1], was " + minFraction);
            }
        }

        @Override
        public ISchedule toSchedule(double baseLearningRate) {
            return new CosineSchedule(baseLearningRate, baseLearningRate * minFraction, totalSteps);
        }
    }

    /** Multiply the rate by {@code decay} every {@code stepSize} steps (DL4J's StepSchedule). */
    record Step(double decay, int stepSize) implements LearningRateSchedule {
        @Override
        public ISchedule toSchedule(double baseLearningRate) {
            return new org.nd4j.linalg.schedule.StepSchedule(org.nd4j.linalg.schedule.ScheduleType.ITERATION,
                    baseLearningRate, decay, stepSize);
        }
    }
}
