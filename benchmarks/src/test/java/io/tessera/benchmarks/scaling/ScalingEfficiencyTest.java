package io.tessera.benchmarks.scaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.models.config.Architecture;
import io.tessera.models.flops.ModelShape;
import io.tessera.benchmarks.report.ResultRow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScalingEfficiencyTest {

    static final ModelShape SHAPE = new ModelShape(Architecture.BERT, 64, 2, 4, 256, 32, 1000, 4, 32);

    @Test
    void formula() {
        assertEquals(0.75, ScalingEfficiency.of(150, 2, 100));
        assertEquals(1.0, ScalingEfficiency.of(400, 4, 100));
        assertThrows(IllegalArgumentException.class, () -> ScalingEfficiency.of(1, 0, 1));
    }

    @Test
    void eachSystemAgainstItsOwnSingleProcessRow() {
        List<ResultRow> rows = ScalingEfficiency.apply(List.of(
                ResultRow.measured(ResultRow.TESSERA, "weak", "m", SHAPE, 1, 1, 2, 0.1, null, ""),
                ResultRow.measured(ResultRow.TESSERA, "weak", "m", SHAPE, 1, 2, 1, 0.2, null, ""),
                ResultRow.measured(ResultRow.PYTORCH, "weak", "m", SHAPE, 1, 1, 2, 0.05, null, ""),
                ResultRow.measured(ResultRow.PYTORCH, "weak", "m", SHAPE, 1, 2, 1, 0.08, null, ""),
                ResultRow.measured(ResultRow.TESSERA, "strong", "m", SHAPE.withBatch(2), 1, 2, 1, 0.1, null, "")));
        assertEquals(1.0, rows.get(0).efficiency());
        assertEquals(0.5, rows.get(1).efficiency(), 1e-12);
        assertEquals(0.625, rows.get(3).efficiency(), 1e-12);
        assertTrue(Double.isNaN(rows.get(4).efficiency()), "no strong single-process baseline");
    }

    @Test
    void pointsSkipWhatDoesNotFit() {
        ScalingOptions o = ScalingOptions.parse(new String[] {"--model", "bert-tiny", "--seq", "32", "--cores", "2", "--mode", "both",
            "--batch", "6", "--dp", "1,2,4", "--tp", "1,2,3"});
        List<String> notes = new ArrayList<>();
        List<ScalingBenchmark.Point> points = ScalingBenchmark.points(o, notes);
        assertEquals(List.of(new ScalingBenchmark.Point("weak", 1, 1), new ScalingBenchmark.Point("weak", 2, 1),
                new ScalingBenchmark.Point("weak", 1, 2), new ScalingBenchmark.Point("strong", 1, 1),
                new ScalingBenchmark.Point("strong", 2, 1), new ScalingBenchmark.Point("strong", 1, 2)), points);
        assertTrue(notes.stream().anyMatch(n -> n.startsWith("weak dp=4 tp=1 skipped: 4 processes do not fit 2 cores")), notes.toString());
        List<String> oversubscribed = new ArrayList<>();
        ScalingOptions all = ScalingOptions.parse(new String[] {"--model", "bert-tiny", "--seq", "32", "--cores", "2", "--batch", "6",
            "--dp", "4", "--tp", "1,3", "--oversubscribe"});
        assertEquals(List.of(new ScalingBenchmark.Point("weak", 1, 1), new ScalingBenchmark.Point("weak", 4, 1)),
                ScalingBenchmark.points(all, oversubscribed));
        assertTrue(oversubscribed.stream().anyMatch(n -> n.contains("tp=3 skipped") && n.contains("numHeads = 4")), oversubscribed.toString());
    }

    @Test
    void onGpusAPointNeedsOneGpuPerProcessAndCoresDoNotLimitIt() {
        ScalingOptions o = ScalingOptions.parse(new String[] {"--model", "bert-tiny", "--seq", "32", "--cores", "1",
            "--device", "cuda", "--dp", "1,2,4", "--tp", "1,2"});
        List<String> notes = new ArrayList<>();
        assertEquals(List.of(new ScalingBenchmark.Point("weak", 1, 1), new ScalingBenchmark.Point("weak", 2, 1),
                new ScalingBenchmark.Point("weak", 1, 2)), ScalingBenchmark.points(o, notes, 2));
        assertTrue(notes.stream().anyMatch(n -> n.equals("weak dp=4 tp=1 skipped: 4 processes need 4 GPUs, this host has 2"
                + " (one rank per GPU)")), notes.toString());
        List<String> one = new ArrayList<>();
        assertEquals(List.of(new ScalingBenchmark.Point("weak", 1, 1)), ScalingBenchmark.points(o, one, 1));
        assertEquals(5, one.size(), one.toString()); // every point but dp=1 tp=1
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ScalingOptions.parse(
                new String[] {"--device", "cuda:1"}));
        assertTrue(e.getMessage().contains("--device cuda:1") && e.getMessage().contains("--device cuda"), e.getMessage());
    }

    @Test
    void strongScalingNeedsADivisibleBatch() {
        ScalingOptions o = ScalingOptions.parse(new String[] {"--model", "bert-tiny", "--seq", "32", "--cores", "4", "--mode", "strong",
            "--batch", "6", "--dp", "4", "--tp", "1"});
        List<String> notes = new ArrayList<>();
        assertEquals(List.of(new ScalingBenchmark.Point("strong", 1, 1)), ScalingBenchmark.points(o, notes));
        assertTrue(notes.get(0).contains("global batch 6 is not divisible by dp=4"), notes.toString());
        assertEquals(3, o.spec("strong", 2).batch());
        assertEquals(6, o.spec("weak", 2).batch());
    }

    @Test
    void slowestRankPerStep() {
        JsonObject a = JsonParser.parseString("{\"step_s\": [1.0, 5.0, 2.0]}").getAsJsonObject();
        JsonObject b = JsonParser.parseString("{\"step_s\": [2.0, 1.0, 3.0]}").getAsJsonObject();
        assertEquals(List.of(2.0, 5.0, 3.0), ScalingBenchmark.slowestPerStep(List.of(a, b), "step_s").seconds());
        JsonObject c = JsonParser.parseString("{\"rank\": 0, \"step_s\": [1.0], \"step_s_no_reduce\": [0.5, 4.0]}").getAsJsonObject();
        JsonObject d = JsonParser.parseString("{\"rank\": 1, \"step_s\": [1.0], \"step_s_no_reduce\": [0.7, 0.2]}").getAsJsonObject();
        assertEquals(List.of(0.7, 4.0), ScalingBenchmark.slowestPerStep(List.of(c, d), ScalingRank.NO_REDUCE_KEY).seconds());
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> ScalingBenchmark.slowestPerStep(List.of(c, a), ScalingRank.NO_REDUCE_KEY));
        assertTrue(e.getMessage().contains("step_s_no_reduce"), e.getMessage());
    }

    @Test
    void rankOptionsRoundTrip() {
        ScalingOptions o = ScalingOptions.parse(new String[] {"--model", "bert-tiny", "--seq", "32", "--layers", "1", "--batch", "4"});
        ScalingRank.Options r = new ScalingRank.Options(o.spec("weak", 2), 2, 1, 5, 1, Duration.ofSeconds(60));
        ScalingRank.Options back = ScalingRank.Options.parse(r.toArgs().toArray(new String[0]));
        assertEquals(r, back);
        ScalingRank.Options gpu = new ScalingRank.Options(o.spec("weak", 2), 1, 1, 5, 1, Duration.ofSeconds(60),
                io.tessera.core.Devices.parse("cuda"));
        assertEquals(gpu, ScalingRank.Options.parse(gpu.toArgs().toArray(new String[0])));
    }

    @Test
    void optionsReportEveryProblem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ScalingOptions.parse(
                new String[] {"--model", "nope", "--batch", "0", "--mode", "sideways", "--rank-heap", "lots"}));
        for (String s : List.of("--model nope", "--batch 0", "--mode [sideways]", "--rank-heap lots")) {
            assertTrue(e.getMessage().contains(s), s + " missing from: " + e.getMessage());
        }
    }
}
