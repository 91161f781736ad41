package org.colaedge.coordinator.training;

/** The three ways to fine-tune behind {@link Trainer}. */
public enum TrainerKind {
    /** Full fine-tuning: the base weights are trained (autodiff, optimizer on the server). */
    FULL,
    /** The same adapters as ColA, trained by ordinary back-propagation on the server (the LoRA-style baseline). */
    PEFT_SERVER,
    /** ColA: the server computes hidden gradients only; devices (in-process here) fit adapters by gradient learning. */
    COLA_LOCAL
}
