package org.colaedge.coordinator.training;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A way of fine-tuning a base model for a number of users. Implementations own their models and
 * optimizer state; all are driven by {@link TrainingLoop} with the same data pipeline.
 */
public interface Trainer {

    TrainerKind kind();

    /** One training step; returns the mean loss of the batch (the mean of the users' mean losses). */
    double step(Batch batch);

    /** Logits of {@code input} computed with the model user {@code user} would serve with. */
    INDArray logits(INDArray input, int user);

    /** Number of distinct models evaluated: 1 for FULL and COL, the number of users for ALONE. */
    int evaluatedModels();

    /** Called at the start of each epoch (schedules, flushing partial intervals at the end). */
    default void startEpoch(int epoch) {
    }

    /** Called once after the last step (e.g. to apply a partially filled interval). */
    default void finish() {
    }

    /** Trainable parameters of one user's model (adapters), or of the whole model for FULL. */
    long trainableParameters();
}
