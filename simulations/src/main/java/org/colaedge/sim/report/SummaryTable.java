package org.colaedge.sim.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The Markdown summary of a run ({@code summary.md}): a title, a table with one line per series (final and
 * best test accuracy, final train loss, epochs, time, throughput, staleness, traffic and device time), reference
 * facts as a bullet list (e.g. {@code PEFT_SERVER accuracy for the same base, adapters, data and epochs: 0.8712})
 * and free-text notes. Series, facts and notes appear in the iteration order of the maps and lists given.
 */
public final class SummaryTable {

    private static final double BYTES_PER_MB = 1_000_000.0;
    private static final String MISSING = "n/a";

    private SummaryTable() {
    }

    /**
     * What the summary says about one series, computed from its rows (taken as chronological).
     *
     * @param series         series name
     * @param finalAccuracy  test accuracy of the last evaluated row (NaN when never evaluated)
     * @param bestAccuracy   best test accuracy over the evaluated rows (NaN when never evaluated)
     * @param finalTrainLoss train loss of the last row that has one (NaN when none)
     * @param epochs         largest epoch in the rows (0 without rows)
     * @param elapsedSeconds largest elapsed time in the rows
     * @param meanStaleness  mean staleness over all steps: each row's mean weighted by the steps since the previous
     *                       row (NaN when no row has one)
     * @param bytesSent      cumulative bytes sent at the end
     * @param bytesReceived  cumulative bytes received at the end
     * @param deviceBusySeconds cumulative device busy seconds at the end
     */
    public record Line(String series, double finalAccuracy, double bestAccuracy, double finalTrainLoss, int epochs,
                       double elapsedSeconds, double meanStaleness, long bytesSent, long bytesReceived,
                       double deviceBusySeconds) {

        /** The line of {@code rows}, which are one series' rows in the order they were taken. */
        public static Line of(String series, List<MetricsRow> rows) {
            double finalAccuracy = Double.NaN;
            double bestAccuracy = Double.NaN;
            double finalLoss = Double.NaN;
            int epochs = 0;
            double elapsed = 0;
            double stalenessSum = 0;
            long stalenessSteps = 0;
            long previousStep = 0;
            long sent = 0;
            long received = 0;
            double busy = 0;
            for (MetricsRow row : rows) {
                if (row.evaluated()) {
                    finalAccuracy = row.testAccuracy();
                    bestAccuracy = Double.isNaN(bestAccuracy) ? finalAccuracy : Math.max(bestAccuracy, finalAccuracy);
                }
                if (!Double.isNaN(row.trainLoss())) {
                    finalLoss = row.trainLoss();
                }
                long steps = Math.max(0, row.step() - previousStep);
                if (!Double.isNaN(row.meanStaleness())) {
                    stalenessSum += row.meanStaleness() * steps;
                    stalenessSteps += steps;
                }
                previousStep = Math.max(previousStep, row.step());
                epochs = Math.max(epochs, row.epoch());
                elapsed = Math.max(elapsed, row.elapsedSeconds());
                sent = Math.max(sent, row.bytesSent());
                received = Math.max(received, row.bytesReceived());
                busy = Math.max(busy, row.deviceBusySeconds());
            }
            double staleness = stalenessSteps == 0 ? Double.NaN : stalenessSum / stalenessSteps;
            return new Line(series, finalAccuracy, bestAccuracy, finalLoss, epochs, elapsed, staleness, sent, received,
                    busy);
        }
    }

    /** The summary without a samples/s column. */
    public static String markdown(String title, Map<String, List<MetricsRow>> series, Map<String, String> facts,
                                  List<String> notes) {
        return markdown(title, series, Map.of(), facts, notes);
    }

    /**
     * The summary; the samples/s column appears when {@code samplesPerSecond} (keyed by series name) is not empty,
     * with {@value #MISSING} for series it lacks.
     */
    public static String markdown(String title, Map<String, List<MetricsRow>> series,
                                  Map<String, Double> samplesPerSecond, Map<String, String> facts, List<String> notes) {
        Objects.requireNonNull(title, "title");
        if (title.isBlank()) {
            throw new IllegalArgumentException("summary title is blank");
        }
        samplesPerSecond.forEach((name, rate) -> {
            if (!series.containsKey(name)) {
                throw new IllegalArgumentException("samples/s given for series " + name + ", which is not among "
                        + series.keySet());
            }
            if (rate == null || !(rate >= 0) || rate.isInfinite()) {
                throw new IllegalArgumentException("samples/s of " + name + " must be finite and >= 0, got " + rate);
            }
        });
        boolean throughput = !samplesPerSecond.isEmpty();
        StringBuilder md = new StringBuilder("# ").append(oneLine(title)).append("\n\n");
        md.append("| series | final test acc | best test acc | final train loss | epochs | elapsed s |");
        md.append(throughput ? " samples/s |" : "");
        md.append(" mean staleness | MB sent | MB received | device busy s |\n");
        md.append("|:---|---:|---:|---:|---:|---:|").append(throughput ? "---:|" : "").append("---:|---:|---:|---:|\n");
        series.forEach((name, rows) -> {
            Line line = Line.of(name, rows);
            md.append("| ").append(cell(name))
                    .append(" | ").append(number("%.4f", line.finalAccuracy()))
                    .append(" | ").append(number("%.4f", line.bestAccuracy()))
                    .append(" | ").append(number("%.4f", line.finalTrainLoss()))
                    .append(" | ").append(rows.isEmpty() ? MISSING : Integer.toString(line.epochs()))
                    .append(" | ").append(rows.isEmpty() ? MISSING : number("%.1f", line.elapsedSeconds()));
            if (throughput) {
                Double rate = samplesPerSecond.get(name);
                md.append(" | ").append(rate == null ? MISSING : number("%.1f", rate));
            }
            md.append(" | ").append(number("%.2f", line.meanStaleness()))
                    .append(" | ").append(number("%.2f", line.bytesSent() / BYTES_PER_MB))
                    .append(" | ").append(number("%.2f", line.bytesReceived() / BYTES_PER_MB))
                    .append(" | ").append(number("%.1f", line.deviceBusySeconds()))
                    .append(" |\n");
        });
        if (!facts.isEmpty()) {
            md.append('\n');
            facts.forEach((what, value) -> md.append("- ").append(oneLine(what)).append(": ").append(oneLine(value))
                    .append('\n'));
        }
        if (!notes.isEmpty()) {
            md.append("\n## Notes\n\n");
            notes.forEach(note -> md.append("- ").append(oneLine(note)).append('\n'));
        }
        return md.toString();
    }

    /** Writes {@link #markdown(String, Map, Map, List) the summary} to {@code file}; returns {@code file}. */
    public static Path write(Path file, String title, Map<String, List<MetricsRow>> series, Map<String, String> facts,
                             List<String> notes) throws IOException {
        return write(file, title, series, Map.of(), facts, notes);
    }

    /** Writes {@link #markdown(String, Map, Map, Map, List) the summary} to {@code file}; returns {@code file}. */
    public static Path write(Path file, String title, Map<String, List<MetricsRow>> series,
                             Map<String, Double> samplesPerSecond, Map<String, String> facts, List<String> notes)
            throws IOException {
        Files.writeString(file, markdown(title, series, samplesPerSecond, facts, notes), StandardCharsets.UTF_8);
        return file;
    }

    private static String number(String format, double value) {
        return Double.isNaN(value) ? MISSING : String.format(Locale.ROOT, format, value);
    }

    private static String cell(String text) {
        return oneLine(text).replace("|", "\\|");
    }

    private static String oneLine(String text) {
        return Objects.requireNonNull(text, "summary text").replaceAll("\\s*\\R\\s*", " ");
    }
}
