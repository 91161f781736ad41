package org.colaedge.edge;

import java.util.List;

/**
 * A device's training batches for all its epochs, by step. Implementations may build each batch
 * when asked (a device then holds one batch at a time instead of all its epochs in memory).
 */
public interface DeviceData {

    /** Number of steps (batches over all epochs). */
    long steps();

    /** The batch of {@code step}, 0 <= step < steps(). */
    DeviceActor.LocalBatch batch(long step);

    /** Batches held in a list. */
    static DeviceData of(List<DeviceActor.LocalBatch> batches) {
        List<DeviceActor.LocalBatch> copy = List.copyOf(batches);
        return new DeviceData() {
            @Override
            public long steps() {
                return copy.size();
            }

            @Override
            public DeviceActor.LocalBatch batch(long step) {
                return copy.get(Math.toIntExact(step));
            }
        };
    }
}
