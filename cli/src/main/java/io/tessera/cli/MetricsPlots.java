package io.tessera.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.benchmarks.report.Plots;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * Charts of a run's {@code metrics.jsonl}: {@code loss.png} (training loss per step, dev loss per
 * evaluation) and {@code dev-scores.png} (every dev score: accuracy, macro-F1, entity P/R/F1).
 *
 * <p>Thread safety: stateless.
 */
final class MetricsPlots {

    private static final Set<String> NOT_SCORES = Set.of("type", "step", "loss", "cls_loss", "token_loss");

    private MetricsPlots() {}

    /**
     * @param metrics the metrics file
     * @param dir where the PNGs go
     * @return the files written
     * @throws IOException if reading or writing fails
     */
    static List<Path> write(Path metrics, Path dir) throws IOException {
        List<Double> trainStep = new ArrayList<>();
        List<Double> trainLoss = new ArrayList<>();
        List<Double> evalStep = new ArrayList<>();
        List<Double> evalLoss = new ArrayList<>();
        Map<String, List<Double>> scores = new LinkedHashMap<>();
        for (String line : Files.readAllLines(metrics, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            JsonObject row = JsonParser.parseString(line).getAsJsonObject();
            double step = row.get("step").getAsDouble();
            if ("train".equals(row.get("type").getAsString())) {
                trainStep.add(step);
                trainLoss.add(row.get("loss").getAsDouble());
                continue;
            }
            evalStep.add(step);
            evalLoss.add(number(row.get("loss")));
            for (Map.Entry<String, JsonElement> e : row.entrySet()) {
                if (!NOT_SCORES.contains(e.getKey()) && e.getValue().isJsonPrimitive() && e.getValue().getAsJsonPrimitive().isNumber()) {
                    scores.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(e.getValue().getAsDouble());
                }
            }
        }
        List<Path> out = new ArrayList<>();
        XYChart loss = chart("Loss", "loss");
        if (!trainStep.isEmpty()) {
            loss.addSeries("train", trainStep, trainLoss);
        }
        if (!evalStep.isEmpty() && evalLoss.stream().noneMatch(v -> v.isNaN())) {
            loss.addSeries("dev", evalStep, evalLoss);
        }
        out.add(Plots.save(loss, dir.resolve("loss.png")));
        if (!scores.isEmpty()) {
            XYChart dev = chart("Dev scores", "score");
            scores.forEach((name, values) -> {
                if (values.size() == evalStep.size()) {
                    dev.addSeries(name, evalStep, values);
                }
            });
            out.add(Plots.save(dev, dir.resolve("dev-scores.png")));
        }
        return out;
    }

    private static XYChart chart(String title, String yTitle) {
        XYChart c = new XYChartBuilder().width(900).height(560).title(title).xAxisTitle("step").yAxisTitle(yTitle).build();
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        c.getStyler().setMarkerSize(4);
        return c;
    }

    private static double number(JsonElement e) {
        return e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber() ? Double.NaN : e.getAsDouble();
    }
}
