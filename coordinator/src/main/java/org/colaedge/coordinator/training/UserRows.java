package org.colaedge.coordinator.training;

/** {@code rows} consecutive rows of a batch belong to user {@code user}. */
public record UserRows(int user, int rows) { }
