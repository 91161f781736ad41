package org.colaedge.coordinator.training;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/** One training batch: inputs, one-hot labels, rows grouped by user. */
public record Batch(INDArray input, INDArray oneHot, List<UserRows> users) {

    public Batch {
        long rows = users.stream().mapToLong(UserRows::rows).sum();
        if (rows != input.size(0) || oneHot.size(0) != input.size(0)) {
            throw new IllegalArgumentException("batch of " + input.size(0) + " rows and " + oneHot.size(0)
                    + " labels does not match its user groups " + users);
        }
    }
}
