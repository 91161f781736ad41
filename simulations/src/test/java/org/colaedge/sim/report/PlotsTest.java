package org.colaedge.sim.report;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlotsTest {

    @TempDir
    Path dir;

    /** Five epochs of a series whose accuracy climbs towards {@code ceiling}; epoch 3 is not evaluated. */
    private static List<MetricsRow> series(String name, double ceiling, int users) {
        List<MetricsRow> rows = new ArrayList<>();
        for (int epoch = 1; epoch <= 5; epoch++) {
            double accuracy = ceiling * (1 - Math.exp(-epoch));
            double[] perUser = new double[users];
            for (int user = 0; user < users; user++) {
                perUser[user] = accuracy * (1 - 0.05 * user);
            }
            rows.add(new MetricsRow(name, epoch, epoch * 50L, epoch * 2.0, 2.5 * Math.exp(-0.4 * epoch) * ceiling,
                    epoch == 3 ? Double.NaN : accuracy, perUser, 1.0, epoch * 1000L, epoch * 2000L, epoch));
        }
        return rows;
    }

    /** Pixels within a small distance of {@code colour} (antialiased line edges are blends, the core is exact). */
    private static int pixelsNear(BufferedImage image, Color colour) {
        int count = 0;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                Color pixel = new Color(image.getRGB(x, y));
                int distance = Math.abs(pixel.getRed() - colour.getRed()) + Math.abs(pixel.getGreen() - colour.getGreen())
                        + Math.abs(pixel.getBlue() - colour.getBlue());
                if (distance <= 24) {
                    count++;
                }
            }
        }
        return count;
    }

    private static BufferedImage read(Path png) throws Exception {
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image).as(png.toString()).isNotNull();
        assertThat(image.getWidth()).isEqualTo(Plots.WIDTH).isEqualTo(800);
        assertThat(image.getHeight()).isEqualTo(Plots.HEIGHT).isEqualTo(500);
        return image;
    }

    @Test
    void writesAccuracyAndLossCurvesOfTwoSeriesInTheirColours() throws Exception {
        Map<String, List<MetricsRow>> two = new LinkedHashMap<>();
        two.put("COLA_MERGED", series("COLA_MERGED", 0.9, 0));
        two.put("PEFT_SERVER", series("PEFT_SERVER", 0.8, 0));

        List<Path> written = Plots.writeAll(dir.resolve("plots"), two);

        assertThat(written).extracting(p -> p.getFileName().toString()).containsExactly("accuracy.png", "loss.png");
        for (Path png : written) {
            BufferedImage image = read(png);
            assertThat(new Color(image.getRGB(2, 2))).isEqualTo(Color.WHITE);
            // Each curve (a 2.5 px line over most of the plot width, plus markers) leaves hundreds of pixels.
            assertThat(pixelsNear(image, Plots.PALETTE.get(0))).as("first series in " + png).isGreaterThan(300);
            assertThat(pixelsNear(image, Plots.PALETTE.get(1))).as("second series in " + png).isGreaterThan(300);
            assertThat(pixelsNear(image, Plots.PALETTE.get(2))).as("no third series in " + png).isLessThan(20);
        }
    }

    @Test
    void writesPerUserCurvesForASingleSeries() throws Exception {
        List<Path> written = Plots.writeAll(dir, Map.of("COLA", series("COLA", 0.9, 3)));

        assertThat(written).extracting(p -> p.getFileName().toString())
                .containsExactly("accuracy.png", "loss.png", "users.png");
        BufferedImage users = read(dir.resolve("users.png"));
        for (int user = 0; user < 3; user++) {
            assertThat(pixelsNear(users, Plots.PALETTE.get(user))).as("user " + user).isGreaterThan(300);
        }
        assertThat(pixelsNear(users, Color.BLACK)).as("overall line and text").isGreaterThan(300);
    }

    @Test
    void usesStepsOnTheXAxisWhenRowsAreTakenWithinAnEpoch() {
        MetricsRow mid = new MetricsRow("A", 1, 10, 1, 1, Double.NaN, new double[0], 0, 0, 0, 0);
        MetricsRow end = new MetricsRow("A", 1, 20, 2, 1, 0.5, new double[0], 0, 0, 0, 0);

        assertThat(Plots.XAxis.forRows(List.of(List.of(mid, end)))).isEqualTo(Plots.XAxis.STEP);
        assertThat(Plots.XAxis.forRows(List.of(List.of(end)))).isEqualTo(Plots.XAxis.EPOCH);
    }

    @Test
    void drawsAnEmptyChartWhenNothingWasEvaluated() throws Exception {
        MetricsRow row = new MetricsRow("A", 1, 10, 1, 1, Double.NaN, new double[0], 0, 0, 0, 0);

        read(Plots.accuracyCurve(dir.resolve("a.png"), "nothing", Map.of("A", List.of(row))));
    }
}
