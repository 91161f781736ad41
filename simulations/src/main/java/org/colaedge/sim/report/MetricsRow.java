package org.colaedge.sim.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One measurement of a simulation run, taken at the end of an epoch (and optionally every N steps):
 * the row type of {@code metrics.csv}, of the plots and of the summary table. Rows of one series are
 * kept in the order they were taken; the cumulative fields never decrease.
 *
 * @param series            scenario name, e.g. {@code COLA_MERGED}; the key that groups rows into curves
 * @param epoch             epoch the row belongs to (a row taken mid-epoch carries the running epoch)
 * @param step              steps (batches) trained so far in this series
 * @param elapsedSeconds    wall-clock seconds since the series started
 * @param trainLoss         mean training loss since the previous row (NaN when unknown)
 * @param testAccuracy      overall test accuracy in [0, 1]; NaN when the test set was not evaluated at this row
 * @param userAccuracy      test accuracy per user in [0, 1] (NaN for a user not evaluated); may be empty
 * @param meanStaleness     mean adapter-version lag of the steps computed since the previous row (NaN when none)
 * @param bytesSent         cumulative bytes sent on the wire
 * @param bytesReceived     cumulative bytes received on the wire
 * @param deviceBusySeconds cumulative sum over devices of the seconds spent in gradient learning
 */
public record MetricsRow(String series, int epoch, long step, double elapsedSeconds, double trainLoss,
                         double testAccuracy, double[] userAccuracy, double meanStaleness, long bytesSent,
                         long bytesReceived, double deviceBusySeconds) {

    public MetricsRow {
        Objects.requireNonNull(series, "series");
        if (series.isBlank()) {
            throw new IllegalArgumentException("metrics row: series name is blank");
        }
        Objects.requireNonNull(userAccuracy, "userAccuracy (use an empty array when there are no users)");
        userAccuracy = userAccuracy.clone();
        String where = "metrics row of " + series + " at step " + step;
        if (epoch < 0 || step < 0) {
            throw new IllegalArgumentException(where + ": negative epoch " + epoch + " or step " + step);
        }
        if (!(elapsedSeconds >= 0) || Double.isInfinite(elapsedSeconds)) {
            throw new IllegalArgumentException(where + ": elapsed seconds must be finite and >= 0, got " + elapsedSeconds);
        }
        requireAccuracy(where, "test accuracy", testAccuracy);
        for (int user = 0; user < userAccuracy.length; user++) {
            requireAccuracy(where, "accuracy of user " + user, userAccuracy[user]);
        }
        if (meanStaleness < 0 || Double.isInfinite(meanStaleness)) {
            throw new IllegalArgumentException(where + ": mean staleness must be NaN or finite and >= 0, got " + meanStaleness);
        }
        if (bytesSent < 0 || bytesReceived < 0) {
            throw new IllegalArgumentException(where + ": negative byte count (sent " + bytesSent + ", received "
                    + bytesReceived + ")");
        }
        if (!(deviceBusySeconds >= 0) || Double.isInfinite(deviceBusySeconds)) {
            throw new IllegalArgumentException(where + ": device busy seconds must be finite and >= 0, got "
                    + deviceBusySeconds);
        }
    }

    private static void requireAccuracy(String where, String what, double value) {
        if (!Double.isNaN(value) && !(value >= 0 && value <= 1)) {
            throw new IllegalArgumentException(where + ": " + what + " must be NaN or in [0, 1], got " + value);
        }
    }

    /** Test accuracy per user (a copy: rows are immutable). */
    @Override
    public double[] userAccuracy() {
        return userAccuracy.clone();
    }

    /** Number of users with an accuracy column in this row. */
    public int users() {
        return userAccuracy.length;
    }

    /** Accuracy of one user. */
    public double userAccuracy(int user) {
        if (user < 0 || user >= userAccuracy.length) {
            throw new IllegalArgumentException("metrics row of " + series + " has " + userAccuracy.length
                    + " users, no user " + user);
        }
        return userAccuracy[user];
    }

    /** Whether the test set was evaluated at this row. */
    public boolean evaluated() {
        return !Double.isNaN(testAccuracy);
    }

    /** Rows grouped by series, series in order of first appearance, rows in their original order. */
    public static Map<String, List<MetricsRow>> bySeries(List<MetricsRow> rows) {
        Map<String, List<MetricsRow>> grouped = new LinkedHashMap<>();
        for (MetricsRow row : rows) {
            grouped.computeIfAbsent(row.series(), s -> new ArrayList<>()).add(row);
        }
        grouped.replaceAll((s, list) -> List.copyOf(list));
        return grouped;
    }

    /** Equal when every field is; doubles compare as {@link Double#compare} does (NaN equals NaN). */
    @Override
    public boolean equals(Object o) {
        return o instanceof MetricsRow r && series.equals(r.series) && epoch == r.epoch && step == r.step
                && Double.compare(elapsedSeconds, r.elapsedSeconds) == 0 && Double.compare(trainLoss, r.trainLoss) == 0
                && Double.compare(testAccuracy, r.testAccuracy) == 0 && Arrays.equals(userAccuracy, r.userAccuracy)
                && Double.compare(meanStaleness, r.meanStaleness) == 0 && bytesSent == r.bytesSent
                && bytesReceived == r.bytesReceived && Double.compare(deviceBusySeconds, r.deviceBusySeconds) == 0;
    }

    @Override
    public int hashCode() {
        return Objects.hash(series, epoch, step, elapsedSeconds, trainLoss, testAccuracy, Arrays.hashCode(userAccuracy),
                meanStaleness, bytesSent, bytesReceived, deviceBusySeconds);
    }

    @Override
    public String toString() {
        return "MetricsRow[series=" + series + ", epoch=" + epoch + ", step=" + step + ", elapsedSeconds=" + elapsedSeconds
                + ", trainLoss=" + trainLoss + ", testAccuracy=" + testAccuracy + ", userAccuracy="
                + Arrays.toString(userAccuracy) + ", meanStaleness=" + meanStaleness + ", bytesSent=" + bytesSent
                + ", bytesReceived=" + bytesReceived + ", deviceBusySeconds=" + deviceBusySeconds + "]";
    }
}
