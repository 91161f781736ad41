package org.colaedge.coordinator.actors;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code colaedge.coordinator.*}, read once (defaults live in the module's {@code reference.conf}).
 *
 * @param snapshotDir null when snapshots are off ({@code snapshots.dir = ""})
 */
public record CoordinatorSettings(int maxRows, Duration maxWait, int maxSegments, int maxPendingBatches, Duration jobIdleTimeout, Path snapshotDir,
                                  int snapshotEvery, DeviceAwayPolicy deviceAwayPolicy, Duration deviceAwayTimeout, int groupMaxStepsAhead) {

    /** What a job does when its device goes away. */
    public enum DeviceAwayPolicy { PAUSE, CONTINUE }

    private static int positive(Config c, String key) {
        int v = c.getInt(key);
        if (v < 1) {
            throw new IllegalArgumentException("colaedge.coordinator." + key + " must be at least 1, was " + v);
        }
        return v;
    }

    public static CoordinatorSettings fromConfig(Config root) {
        Config c = root.getConfig("colaedge.coordinator");
        String dir = c.getString("snapshots.dir").trim();
        String policy = c.getString("device-away.policy").trim();
        DeviceAwayPolicy p;
        try {
            p = DeviceAwayPolicy.valueOf(policy.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("colaedge.coordinator.device-away.policy must be pause or continue, was '" + policy + "'");
        }
        int every = c.getInt("snapshots.every");
        if (every < 1) {
            throw new IllegalArgumentException("colaedge.coordinator.snapshots.every must be at least 1, was " + every);
        }
        return new CoordinatorSettings(c.getInt("batching.max-rows"), c.getDuration("batching.max-wait"), c.getInt("batching.max-segments"),
                c.getInt("max-pending-batches"),
                c.getDuration("job-idle-timeout"), dir.isEmpty() ? null : Path.of(dir), every, p, c.getDuration("device-away.timeout"),
                positive(c, "group-max-steps-ahead"));
    }
}
