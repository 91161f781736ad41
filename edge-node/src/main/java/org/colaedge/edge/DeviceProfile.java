package org.colaedge.edge;

import java.time.Duration;

/**
 * How a device behaves beyond its math, to emulate heterogeneous edge devices in simulations.
 *
 * @param speed         compute speed relative to this machine, in (0, 1]: 0.25 takes 4x as long
 *                      for each gradient-learning step (the device waits out the difference)
 * @param latency       one-way network latency added to every message in both directions
 * @param bandwidth     link bandwidth in bytes per second in each direction (0 = unlimited); a
 *                      message occupies the link for size / bandwidth, messages queue behind it
 * @param crashAtStep   the device crashes (stops without warning, losing what it had not sent)
 *                      right after answering this many steps; -1 = never. It has checkpointed
 *                      before sending, so a device restarted from its checkpoint resumes.
 * @param paced         the device submits only steps it was released for ({@code DeviceActor.Release}):
 *                      a synchronous simulation releases one epoch at a time
 */
public record DeviceProfile(double speed, Duration latency, long bandwidth, long crashAtStep, boolean paced) {

    /** A device as fast as this machine on an ideal link that never crashes. */
    public static final DeviceProfile IDEAL = new DeviceProfile(1.0, Duration.ZERO, 0, -1, false);

    public DeviceProfile {
        if (!(speed > 0 && speed <= 1)) {
            throw new IllegalArgumentException("device speed must be in (0, 1], was " + speed);
        }
        if (latency.isNegative()) {
            throw new IllegalArgumentException("latency must not be negative, was " + latency);
        }
        if (bandwidth < 0) {
            throw new IllegalArgumentException("bandwidth must not be negative, was " + bandwidth);
        }
    }

    /** Whether messages travel without emulated delay. */
    public boolean idealLink() {
        return latency.isZero() && bandwidth == 0;
    }

    /** Nanoseconds a message of {@code bytes} occupies the link. */
    long transferNanos(long bytes) {
        return bandwidth == 0 ? 0 : (long) (bytes * 1e9 / bandwidth);
    }

    public DeviceProfile withCrashAtStep(long step) {
        return new DeviceProfile(speed, latency, bandwidth, step, paced);
    }

    public DeviceProfile withPacing(boolean p) {
        return new DeviceProfile(speed, latency, bandwidth, crashAtStep, p);
    }
}
