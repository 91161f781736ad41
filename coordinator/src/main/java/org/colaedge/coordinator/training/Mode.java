package org.colaedge.coordinator.training;

/** How several users share the coordinator. */
public enum Mode {
    /** Each user trains and is evaluated with its own adapters. */
    ALONE,
    /** Users collaborate: the (sample-weighted) mean of their adapters' dW is merged into one shared model. */
    COL
}
