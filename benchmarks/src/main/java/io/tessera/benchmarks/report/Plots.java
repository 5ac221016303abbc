package io.tessera.benchmarks.report;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * PNG charts of result rows with XChart, Tessera beside PyTorch.
 *
 * <ul>
 *   <li>Scaling rows (some {@code world > 1}): {@code <prefix>-throughput.png}, tokens/s against ranks, and
 *       {@code <prefix>-efficiency.png}, {@code throughput(N) / (N·throughput(1))} against ranks. One line per
 *       system, benchmark and parallel axis: data-parallel lines hold the {@code tp = 1} rows, tensor-parallel
 *       lines the {@code dp = 1} rows (both start at the single-process point).
 *   <li>Single-process rows: {@code <prefix>-throughput.png}, tokens/s per model as grouped bars.
 * </ul>
 *
 * <p>Rendering is headless ({@code java.awt.headless=true} unless already set).
 *
 * <p>Thread safety: stateless.
 */
public final class Plots {

    private static final int WIDTH = 900;
    private static final int HEIGHT = 560;

    private Plots() {}

    /**
     * Writes the charts that fit the rows.
     *
     * @param rows result rows (at least one)
     * @param dir output directory, created if missing
     * @param prefix file name prefix, e.g. {@code scaling}
     * @return the files written
     * @throws IOException if a file cannot be written
     */
    public static List<Path> write(List<ResultRow> rows, Path dir, String prefix) throws IOException {
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("plots: no result rows to draw");
        }
        headless();
        Files.createDirectories(dir);
        List<Path> out = new ArrayList<>();
        if (rows.stream().anyMatch(r -> r.world() > 1)) {
            out.add(save(lines(rows, "Throughput against ranks", "tokens/s", ResultRow::tokensPerSecond),
                    dir.resolve(prefix + "-throughput.png")));
            List<ResultRow> withEff = rows.stream().filter(r -> !Double.isNaN(r.efficiency())).toList();
            if (!withEff.isEmpty()) {
                out.add(save(lines(withEff, "Scaling efficiency: throughput(N) / (N x throughput(1))", "efficiency",
                        ResultRow::efficiency), dir.resolve(prefix + "-efficiency.png")));
            }
        } else {
            out.add(save(bars(rows), dir.resolve(prefix + "-throughput.png")));
        }
        return out;
    }

    private static XYChart lines(List<ResultRow> rows, String title, String yTitle, ToDoubleFunction<ResultRow> y) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle("ranks (processes)")
                .yAxisTitle(yTitle).build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setMarkerSize(8);
        Map<String, List<ResultRow>> series = new LinkedHashMap<>();
        boolean anyTp = rows.stream().anyMatch(r -> r.tp() > 1);
        for (ResultRow r : rows) {
            String base = r.system() + " " + r.benchmark() + " " + r.model();
            if (r.tp() == 1) {
                series.computeIfAbsent(base + (r.system().equals(ResultRow.PYTORCH) ? " ddp" : " dp"), k -> new ArrayList<>()).add(r);
            }
            if (anyTp && r.dp() == 1 && r.system().equals(ResultRow.TESSERA)) {
                series.computeIfAbsent(base + " tp", k -> new ArrayList<>()).add(r);
            }
        }
        for (Map.Entry<String, List<ResultRow>> e : series.entrySet()) {
            List<ResultRow> pts = new ArrayList<>(e.getValue());
            pts.sort(Comparator.comparingInt(ResultRow::world));
            double[] xs = new double[pts.size()];
            double[] ys = new double[pts.size()];
            for (int i = 0; i < pts.size(); i++) {
                xs[i] = pts.get(i).world();
                ys[i] = y.applyAsDouble(pts.get(i));
            }
            chart.addSeries(e.getKey(), xs, ys).setMarker(SeriesMarkers.CIRCLE);
        }
        return chart;
    }

    private static CategoryChart bars(List<ResultRow> rows) {
        CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title("Training throughput, one process")
                .xAxisTitle("model").yAxisTitle("tokens/s").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        List<String> models = rows.stream().map(ResultRow::model).distinct().toList();
        for (String system : List.of(ResultRow.TESSERA, ResultRow.PYTORCH)) {
            List<String> xs = new ArrayList<>();
            List<Double> ys = new ArrayList<>();
            for (String m : models) {
                rows.stream().filter(r -> r.system().equals(system) && r.model().equals(m)).findFirst().ifPresent(r -> {
                    xs.add(m);
                    ys.add(r.tokensPerSecond());
                });
            }
            if (!xs.isEmpty()) {
                chart.addSeries(system, xs, ys);
            }
        }
        return chart;
    }

    /**
     * Writes a chart as a PNG, headless (no display needed).
     *
     * @param chart the chart
     * @param file the PNG file
     * @return {@code file}
     * @throws IOException if it cannot be written
     */
    public static Path save(Chart<?, ?> chart, Path file) throws IOException {
        headless();
        try (OutputStream os = Files.newOutputStream(file)) {
            BitmapEncoder.saveBitmap(chart, os, BitmapEncoder.BitmapFormat.PNG);
        }
        return file;
    }

    private static void headless() {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }
}
