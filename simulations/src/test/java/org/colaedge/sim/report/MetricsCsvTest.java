package org.colaedge.sim.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetricsCsvTest {

    @TempDir
    Path dir;

    private static MetricsRow row(String series, int epoch, double accuracy, double... users) {
        return new MetricsRow(series, epoch, epoch * 100L, epoch * 1.25 + 0.1, 2.0 / (epoch + 1) + 1e-9, accuracy,
                users, 0.5 * epoch, 123_456_789L * epoch, 98_765L * epoch, epoch * 3.3);
    }

    @Test
    void roundTripsUsersNaNAndQuotedSeriesNames() throws Exception {
        List<MetricsRow> rows = List.of(
                row("COLA_MERGED, 8 users", 1, Double.NaN, 0.1, 0.2, 0.3),
                row("COLA_MERGED, 8 users", 2, 0.8712345678901234, 0.4, Double.NaN, 0.6),
                row("say \"hi\"", 1, 1.0 / 3),
                row("PEFT_SERVER", 1, 0.5, 0.7),
                new MetricsRow("multi\nline", 0, 0, 0, Double.NaN, Double.NaN, new double[0], Double.NaN, 0, 0, 0));
        Path file = dir.resolve("metrics.csv");

        MetricsCsv.write(file, rows);

        List<String> lines = Files.readAllLines(file);
        assertThat(lines.get(0)).isEqualTo(MetricsCsv.FIXED_HEADER
                + ",user_0_accuracy,user_1_accuracy,user_2_accuracy");
        assertThat(lines.get(1)).startsWith("\"COLA_MERGED, 8 users\",1,100,");
        assertThat(lines.get(3)).startsWith("\"say \"\"hi\"\"\",1,");
        assertThat(lines.get(4)).endsWith(",0.7,,");
        assertThat(MetricsCsv.read(file)).containsExactlyElementsOf(rows);
    }

    @Test
    void writesNoUserColumnsWhenNoRowHasUsers() throws Exception {
        Path file = dir.resolve("m.csv");
        MetricsCsv.write(file, List.of(row("A", 1, 0.5)));

        assertThat(Files.readAllLines(file).get(0)).isEqualTo(MetricsCsv.FIXED_HEADER);
        assertThat(MetricsCsv.read(file)).containsExactly(row("A", 1, 0.5));
    }

    @Test
    void readsCrLfLineEnds() {
        String text = MetricsCsv.format(List.of(row("A", 1, 0.5, 0.25))).replace("\n", "\r\n");

        assertThat(MetricsCsv.parse(text, "crlf")).containsExactly(row("A", 1, 0.5, 0.25));
    }

    @Test
    void rejectsWrongHeaderAndBadCellsWithTheirPlace() {
        assertThatThrownBy(() -> MetricsCsv.parse("series,epoch\nA,1\n", "x.csv"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("x.csv").hasMessageContaining("header");
        String good = MetricsCsv.format(List.of(row("A", 1, 0.5)));
        assertThatThrownBy(() -> MetricsCsv.parse(good.replace(",100,", ",many,"), "x.csv"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("x.csv record 2")
                .hasMessageContaining("step is 'many'");
        assertThatThrownBy(() -> MetricsCsv.parse(good.replace("0.5,", "1.5,"), "x.csv"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("test accuracy");
        assertThatThrownBy(() -> MetricsCsv.parse(MetricsCsv.FIXED_HEADER + "\n\"A,1\n", "x.csv"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not closed");
    }
}
