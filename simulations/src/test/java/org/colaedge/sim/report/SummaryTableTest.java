package org.colaedge.sim.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SummaryTableTest {

    private static MetricsRow row(String series, int epoch, long step, double accuracy, double loss, double staleness) {
        return new MetricsRow(series, epoch, step, epoch * 10.0, loss, accuracy, new double[0], staleness,
                epoch * 1_500_000L, epoch * 250_000L, epoch * 4.0);
    }

    private static final List<MetricsRow> COLA = List.of(
            row("COLA", 1, 100, 0.61234, 1.2, 1.0),
            row("COLA", 2, 200, 0.87655, 0.8, Double.NaN),
            row("COLA", 3, 400, Double.NaN, 0.6, 4.0),
            row("COLA", 3, 400, 0.81111, 0.55, Double.NaN));

    @Test
    void summarisesEachSeriesFromItsRows() {
        SummaryTable.Line line = SummaryTable.Line.of("COLA", COLA);

        assertThat(line.finalAccuracy()).isEqualTo(0.81111);
        assertThat(line.bestAccuracy()).isEqualTo(0.87655);
        assertThat(line.finalTrainLoss()).isEqualTo(0.55);
        assertThat(line.epochs()).isEqualTo(3);
        assertThat(line.elapsedSeconds()).isEqualTo(30.0);
        // 100 steps at lag 1 and 200 steps at lag 4.
        assertThat(line.meanStaleness()).isCloseTo((100 * 1.0 + 200 * 4.0) / 300, within(1e-12));
        assertThat(line.bytesSent()).isEqualTo(4_500_000L);
        assertThat(line.deviceBusySeconds()).isEqualTo(12.0);
    }

    @Test
    void tableHoldsFinalAndBestAccuracyFactsAndNotes(@TempDir Path dir) throws Exception {
        Map<String, List<MetricsRow>> series = new LinkedHashMap<>();
        series.put("COLA", COLA);
        series.put("a|b", List.of(row("a|b", 1, 50, 0.5, 2.0, 0.0)));
        Map<String, String> facts = new LinkedHashMap<>();
        facts.put("PEFT_SERVER accuracy for the same base, adapters, data and epochs", "0.8712");
        facts.put("base model", "mlp-784-256-10");

        Path file = SummaryTable.write(dir.resolve("summary.md"), "Run 7", series, Map.of("COLA", 1234.56), facts,
                List.of("devices were simulated on one machine"));
        String md = Files.readString(file);

        assertThat(md).startsWith("# Run 7\n");
        assertThat(md).contains("| samples/s |");
        assertThat(md).contains("| COLA | 0.8111 | 0.8766 | 0.5500 | 3 | 30.0 | 1234.6 | 3.00 | 4.50 | 0.75 | 12.0 |");
        assertThat(md).contains("| a\\|b | 0.5000 | 0.5000 | 2.0000 | 1 | 10.0 | n/a | 0.00 | 1.50 | 0.25 | 4.0 |");
        assertThat(md).contains("- PEFT_SERVER accuracy for the same base, adapters, data and epochs: 0.8712\n");
        assertThat(md).contains("- base model: mlp-784-256-10\n");
        assertThat(md).contains("## Notes\n\n- devices were simulated on one machine\n");
    }

    @Test
    void leavesOutThroughputWhenNotGivenAndShowsMissingValues() {
        MetricsRow unevaluated = new MetricsRow("X", 1, 10, 1, Double.NaN, Double.NaN, new double[0], Double.NaN, 0, 0, 0);

        String md = SummaryTable.markdown("t", Map.of("X", List.of(unevaluated)), Map.of(), List.of());

        assertThat(md).doesNotContain("samples/s").doesNotContain("Notes");
        assertThat(md).contains("| X | n/a | n/a | n/a | 1 | 1.0 | n/a | 0.00 | 0.00 | 0.0 |");
    }

    @Test
    void rejectsThroughputOfUnknownSeries() {
        assertThatThrownBy(() -> SummaryTable.markdown("t", Map.of("A", COLA), Map.of("B", 1.0), Map.of(), List.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("series B");
    }
}
