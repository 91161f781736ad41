package org.colaedge.common.data;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * What converting a source data set did: how many records it held, how many were loaded and how
 * many were skipped for which {@link SkipReason}. {@link #summary()} is the line the loader logs,
 * e.g. {@code fashion-mnist: 70000 records, 69998 loaded, 2 skipped (2 empty)}.
 *
 * @param dataset name of the data set
 * @param records records seen in the source: loaded + skipped
 * @param loaded  records that became images
 * @param skipped skipped records per reason (reasons with a zero count are left out)
 */
public record LoadReport(String dataset, long records, long loaded, Map<SkipReason, Long> skipped) {

    public LoadReport {
        Objects.requireNonNull(dataset, "dataset");
        EnumMap<SkipReason, Long> copy = new EnumMap<>(SkipReason.class);
        skipped.forEach((reason, count) -> {
            if (count < 0) {
                throw new IllegalArgumentException("load report of " + dataset + ": negative count " + count + " for " + reason);
            }
            if (count > 0) {
                copy.put(reason, count);
            }
        });
        skipped = Collections.unmodifiableMap(copy);
        long sum = loaded + copy.values().stream().mapToLong(Long::longValue).sum();
        if (loaded < 0 || records != sum) {
            throw new IllegalArgumentException("load report of " + dataset + ": " + records + " records but " + loaded
                    + " loaded and " + copy + " skipped");
        }
    }

    /** A report for a source with nothing skipped. */
    public static LoadReport clean(String dataset, long loaded) {
        return new LoadReport(dataset, loaded, loaded, Map.of());
    }

    /** Total skipped records. */
    public long skippedTotal() {
        return records - loaded;
    }

    /** Skipped records for one reason (0 if none). */
    public long skipped(SkipReason reason) {
        return skipped.getOrDefault(reason, 0L);
    }

    /** "NAME: R records, L loaded, S skipped" plus " (2 empty, 1 out of range)" when S > 0. */
    public String summary() {
        String line = dataset + ": " + records + " records, " + loaded + " loaded, " + skippedTotal() + " skipped";
        if (skipped.isEmpty()) {
            return line;
        }
        return line + skipped.entrySet().stream()
                .map(e -> e.getValue() + " " + e.getKey().label())
                .collect(Collectors.joining(", ", " (", ")"));
    }

    @Override
    public String toString() {
        return summary();
    }
}
