package org.colaedge.sim.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads and writes the {@code metrics.csv} of a run folder (RFC 4180, UTF-8, LF line ends). The header is
 * {@value #FIXED_HEADER} followed by {@code user_0_accuracy, ..., user_{K-1}_accuracy} where K is the largest
 * number of users over the rows; a row with fewer users leaves its remaining user cells empty. Doubles are
 * written with {@link Double#toString}, so every value, NaN included ({@code NaN}), reads back exactly.
 */
public final class MetricsCsv {

    /** The columns every file starts with, in order. */
    public static final String FIXED_HEADER =
            "series,epoch,step,elapsed_s,train_loss,test_accuracy,staleness,bytes_sent,bytes_received,device_busy_s";

    private static final List<String> FIXED_COLUMNS = List.of(FIXED_HEADER.split(","));

    private MetricsCsv() {
    }

    /** Writes {@code rows} to {@code file}, replacing it. */
    public static void write(Path file, List<MetricsRow> rows) throws IOException {
        Files.writeString(file, format(rows), StandardCharsets.UTF_8);
    }

    /** The CSV text of {@code rows}: header line and one line per row. */
    public static String format(List<MetricsRow> rows) {
        int users = rows.stream().mapToInt(MetricsRow::users).max().orElse(0);
        StringBuilder csv = new StringBuilder(FIXED_HEADER);
        for (int user = 0; user < users; user++) {
            csv.append(",user_").append(user).append("_accuracy");
        }
        csv.append('\n');
        for (MetricsRow row : rows) {
            csv.append(quote(row.series())).append(',').append(row.epoch()).append(',').append(row.step())
                    .append(',').append(row.elapsedSeconds()).append(',').append(row.trainLoss())
                    .append(',').append(row.testAccuracy()).append(',').append(row.meanStaleness())
                    .append(',').append(row.bytesSent()).append(',').append(row.bytesReceived())
                    .append(',').append(row.deviceBusySeconds());
            for (int user = 0; user < users; user++) {
                csv.append(',');
                if (user < row.users()) {
                    csv.append(row.userAccuracy(user));
                }
            }
            csv.append('\n');
        }
        return csv.toString();
    }

    /** A CSV field: as is, or in double quotes (quotes doubled) when it holds a comma, quote or line break. */
    static String quote(String field) {
        if (field.indexOf(',') < 0 && field.indexOf('"') < 0 && field.indexOf('\n') < 0 && field.indexOf('\r') < 0) {
            return field;
        }
        return '"' + field.replace("\"", "\"\"") + '"';
    }

    /** Reads a file written by {@link #write}; rows in file order. */
    public static List<MetricsRow> read(Path file) throws IOException {
        return parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    }

    /** Parses CSV text written by {@link #format}; {@code source} names it in error messages. */
    public static List<MetricsRow> parse(String text, String source) {
        List<List<String>> records = records(text, source);
        if (records.isEmpty()) {
            throw new IllegalArgumentException(source + ": empty, expected the header " + FIXED_HEADER + ",user_0_accuracy,...");
        }
        List<String> header = records.get(0);
        int users = header.size() - FIXED_COLUMNS.size();
        if (users < 0 || !header.subList(0, FIXED_COLUMNS.size()).equals(FIXED_COLUMNS)) {
            throw new IllegalArgumentException(source + ": header " + String.join(",", header) + " does not start with "
                    + FIXED_HEADER);
        }
        for (int user = 0; user < users; user++) {
            String expected = "user_" + user + "_accuracy";
            if (!header.get(FIXED_COLUMNS.size() + user).equals(expected)) {
                throw new IllegalArgumentException(source + ": header column " + (FIXED_COLUMNS.size() + user + 1) + " is "
                        + header.get(FIXED_COLUMNS.size() + user) + ", expected " + expected);
            }
        }
        List<MetricsRow> rows = new ArrayList<>(records.size() - 1);
        for (int r = 1; r < records.size(); r++) {
            rows.add(row(records.get(r), header.size(), source + " record " + (r + 1)));
        }
        return rows;
    }

    private static MetricsRow row(List<String> cells, int columns, String where) {
        if (cells.size() != columns) {
            throw new IllegalArgumentException(where + ": " + cells.size() + " cells, the header has " + columns);
        }
        int users = columns - FIXED_COLUMNS.size();
        while (users > 0 && cells.get(FIXED_COLUMNS.size() + users - 1).isEmpty()) {
            users--;
        }
        double[] userAccuracy = new double[users];
        for (int user = 0; user < users; user++) {
            userAccuracy[user] = parseDouble(cells, FIXED_COLUMNS.size() + user, "user_" + user + "_accuracy", where);
        }
        int epoch = (int) parseLong(cells, 1, where);
        long step = parseLong(cells, 2, where);
        double elapsed = parseDouble(cells, 3, where);
        double loss = parseDouble(cells, 4, where);
        double accuracy = parseDouble(cells, 5, where);
        double staleness = parseDouble(cells, 6, where);
        long sent = parseLong(cells, 7, where);
        long received = parseLong(cells, 8, where);
        double busy = parseDouble(cells, 9, where);
        try {
            return new MetricsRow(cells.get(0), epoch, step, elapsed, loss, accuracy, userAccuracy, staleness, sent,
                    received, busy);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
    }

    private static long parseLong(List<String> cells, int column, String where) {
        try {
            long value = Long.parseLong(cells.get(column));
            if (column == 1 && (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE)) {
                throw new NumberFormatException("out of int range");
            }
            return value;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ": " + FIXED_COLUMNS.get(column) + " is '" + cells.get(column)
                    + "', not an integer", e);
        }
    }

    private static double parseDouble(List<String> cells, int column, String where) {
        return parseDouble(cells, column, FIXED_COLUMNS.get(column), where);
    }

    private static double parseDouble(List<String> cells, int column, String name, String where) {
        try {
            return Double.parseDouble(cells.get(column));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ": " + name + " is '" + cells.get(column) + "', not a number", e);
        }
    }

    /** Splits RFC 4180 text into records of fields (CRLF or LF line ends, quoted fields may span lines). */
    static List<List<String>> records(String text, String source) {
        List<List<String>> records = new ArrayList<>();
        List<String> record = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean quoted = false;
        boolean afterQuote = false;
        int line = 1;
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < text.length() && text.charAt(i + 1) == '"') {
                    field.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                    afterQuote = true;
                } else {
                    if (c == '\n') {
                        line++;
                    }
                    field.append(c);
                }
            } else if (c == ',') {
                record.add(field.toString());
                field.setLength(0);
                afterQuote = false;
            } else if (c == '\n' || (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n')) {
                i += c == '\r' ? 1 : 0;
                record.add(field.toString());
                records.add(record);
                record = new ArrayList<>();
                field.setLength(0);
                afterQuote = false;
                line++;
            } else if (afterQuote) {
                throw new IllegalArgumentException(source + " line " + line + ": '" + c + "' after a closing quote");
            } else if (c == '"' && field.length() == 0) {
                quoted = true;
            } else if (c == '"') {
                throw new IllegalArgumentException(source + " line " + line + ": quote inside an unquoted field");
            } else {
                field.append(c);
            }
            i++;
        }
        if (quoted) {
            throw new IllegalArgumentException(source + ": quoted field not closed at end of file");
        }
        if (field.length() > 0 || !record.isEmpty() || afterQuote) {
            record.add(field.toString());
            records.add(record);
        }
        return records;
    }
}
