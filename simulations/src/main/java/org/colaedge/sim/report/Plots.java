package org.colaedge.sim.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.geom.Ellipse2D;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.ToDoubleFunction;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Learning-curve PNGs of a simulation run (JFreeChart, rendered headless): test accuracy and training loss
 * with one line per series, and test accuracy per user of one series. Charts are {@value #WIDTH}x{@value #HEIGHT}
 * pixels on white; NaN values (e.g. rows where the test set was not evaluated) are left out of the curves.
 */
public final class Plots {

    static {
        // Before any AWT class loads: charts are drawn into images, never onto a screen.
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    /** Width of every chart in pixels. */
    public static final int WIDTH = 800;
    /** Height of every chart in pixels. */
    public static final int HEIGHT = 500;

    /** Line colours in series order (Okabe-Ito, readable by colour-blind people); black is kept for "overall". */
    static final List<Color> PALETTE = List.of(new Color(0x0072B2), new Color(0xD55E00), new Color(0x009E73),
            new Color(0xCC79A7), new Color(0xE69F00), new Color(0x56B4E9), new Color(0x8C564B));

    /** A series with at most this many points gets a marker on each point. */
    private static final int MARKER_LIMIT = 40;
    private static final String FONT = Font.SANS_SERIF;

    /** What the horizontal axis of a curve counts. */
    public enum XAxis {
        /** The row's epoch. */
        EPOCH("epoch"),
        /** The row's step (batches trained). */
        STEP("step"),
        /** Wall-clock seconds since the series started. */
        ELAPSED_SECONDS("elapsed s");

        private final String label;

        XAxis(String label) {
            this.label = label;
        }

        /** The axis label. */
        public String label() {
            return label;
        }

        double of(MetricsRow row) {
            return switch (this) {
                case EPOCH -> row.epoch();
                case STEP -> row.step();
                case ELAPSED_SECONDS -> row.elapsedSeconds();
            };
        }

        /** EPOCH when every series has at most one row per epoch, STEP when some series has rows within an epoch. */
        public static XAxis forRows(Iterable<List<MetricsRow>> series) {
            for (List<MetricsRow> rows : series) {
                Set<Integer> epochs = new HashSet<>();
                for (MetricsRow row : rows) {
                    if (!epochs.add(row.epoch())) {
                        return STEP;
                    }
                }
            }
            return EPOCH;
        }
    }

    private Plots() {
    }

    /** Test accuracy of each series against {@link XAxis#forRows the natural x axis}; returns {@code png}. */
    public static Path accuracyCurve(Path png, String title, Map<String, List<MetricsRow>> series) throws IOException {
        return accuracyCurve(png, title, series, XAxis.forRows(series.values()));
    }

    /** Test accuracy of each series against {@code x}, one line per series; returns {@code png}. */
    public static Path accuracyCurve(Path png, String title, Map<String, List<MetricsRow>> series, XAxis x)
            throws IOException {
        return save(png, curves(title, series, x, "test accuracy", MetricsRow::testAccuracy));
    }

    /** Training loss of each series against {@link XAxis#forRows the natural x axis}; returns {@code png}. */
    public static Path lossCurve(Path png, String title, Map<String, List<MetricsRow>> series) throws IOException {
        return lossCurve(png, title, series, XAxis.forRows(series.values()));
    }

    /** Training loss of each series against {@code x}, one line per series; returns {@code png}. */
    public static Path lossCurve(Path png, String title, Map<String, List<MetricsRow>> series, XAxis x)
            throws IOException {
        return save(png, curves(title, series, x, "train loss", MetricsRow::trainLoss));
    }

    /** Test accuracy of each user of one series, plus the overall accuracy in black; returns {@code png}. */
    public static Path userAccuracy(Path png, String title, List<MetricsRow> rows) throws IOException {
        XAxis x = XAxis.forRows(List.of(rows));
        int users = rows.stream().mapToInt(MetricsRow::users).max().orElse(0);
        XYSeriesCollection dataset = new XYSeriesCollection();
        for (int user = 0; user < users; user++) {
            int u = user;
            dataset.addSeries(series("user " + user, rows, x,
                    row -> u < row.users() ? row.userAccuracy(u) : Double.NaN));
        }
        dataset.addSeries(series("overall", rows, x, MetricsRow::testAccuracy));
        JFreeChart chart = chart(title, x, "test accuracy", dataset);
        XYLineAndShapeRenderer renderer = (XYLineAndShapeRenderer) chart.getXYPlot().getRenderer();
        renderer.setSeriesPaint(users, Color.BLACK);
        renderer.setSeriesStroke(users, new BasicStroke(3.5f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
        return save(png, chart);
    }

    /**
     * Writes {@code accuracy.png} and {@code loss.png} into {@code dir} (created if missing), and
     * {@code users.png} when there is a single series with per-user accuracy; returns the files written.
     */
    public static List<Path> writeAll(Path dir, Map<String, List<MetricsRow>> series) throws IOException {
        Files.createDirectories(dir);
        List<Path> written = new ArrayList<>();
        written.add(accuracyCurve(dir.resolve("accuracy.png"), "Test accuracy", series));
        written.add(lossCurve(dir.resolve("loss.png"), "Training loss", series));
        if (series.size() == 1) {
            Map.Entry<String, List<MetricsRow>> only = series.entrySet().iterator().next();
            if (only.getValue().stream().anyMatch(row -> row.users() > 0)) {
                written.add(userAccuracy(dir.resolve("users.png"), "Test accuracy per user: " + only.getKey(),
                        only.getValue()));
            }
        }
        return written;
    }

    private static JFreeChart curves(String title, Map<String, List<MetricsRow>> series, XAxis x, String yLabel,
                                     ToDoubleFunction<MetricsRow> y) {
        XYSeriesCollection dataset = new XYSeriesCollection();
        series.forEach((name, rows) -> dataset.addSeries(series(name, rows, x, y)));
        return chart(title, x, yLabel, dataset);
    }

    private static XYSeries series(String name, List<MetricsRow> rows, XAxis x, ToDoubleFunction<MetricsRow> y) {
        Objects.requireNonNull(name, "series name");
        XYSeries series = new XYSeries(name, true, true);
        for (MetricsRow row : rows) {
            double value = y.applyAsDouble(row);
            if (!Double.isNaN(value)) {
                series.add(x.of(row), value);
            }
        }
        return series;
    }

    private static JFreeChart chart(String title, XAxis x, String yLabel, XYSeriesCollection dataset) {
        Objects.requireNonNull(title, "title");
        JFreeChart chart = ChartFactory.createXYLineChart(title, x.label(), yLabel, dataset, PlotOrientation.VERTICAL,
                true, false, false);
        chart.setBackgroundPaint(Color.WHITE);
        chart.getTitle().setFont(new Font(FONT, Font.BOLD, 20));
        LegendTitle legend = chart.getLegend();
        legend.setItemFont(new Font(FONT, Font.PLAIN, 14));
        legend.setBackgroundPaint(Color.WHITE);

        XYPlot plot = chart.getXYPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xDDDDDD));
        plot.setRangeGridlinePaint(new Color(0xDDDDDD));
        plot.setOutlinePaint(Color.GRAY);
        plot.setNoDataMessage("no data");
        plot.setNoDataMessageFont(new Font(FONT, Font.ITALIC, 16));
        for (NumberAxis axis : List.of((NumberAxis) plot.getDomainAxis(), (NumberAxis) plot.getRangeAxis())) {
            axis.setLabelFont(new Font(FONT, Font.PLAIN, 15));
            axis.setTickLabelFont(new Font(FONT, Font.PLAIN, 13));
            axis.setAutoRangeIncludesZero(false);
        }
        if (x != XAxis.ELAPSED_SECONDS) {
            plot.getDomainAxis().setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        }

        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        BasicStroke line = new BasicStroke(2.5f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND);
        BasicStroke dashed = new BasicStroke(2.5f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 1f,
                new float[] {8f, 5f}, 0f);
        for (int s = 0; s < dataset.getSeriesCount(); s++) {
            renderer.setSeriesPaint(s, PALETTE.get(s % PALETTE.size()));
            renderer.setSeriesStroke(s, s < PALETTE.size() ? line : dashed);
            renderer.setSeriesShape(s, new Ellipse2D.Double(-3.5, -3.5, 7, 7));
            renderer.setSeriesShapesVisible(s, dataset.getSeries(s).getItemCount() <= MARKER_LIMIT);
        }
        plot.setRenderer(renderer);
        return chart;
    }

    private static Path save(Path png, JFreeChart chart) throws IOException {
        ChartUtils.saveChartAsPNG(png.toFile(), chart, WIDTH, HEIGHT);
        return png;
    }
}
