package io.tessera.benchmarks.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.benchmarks.ceiling.Ceiling;
import io.tessera.benchmarks.ceiling.MatmulMeasurement;
import io.tessera.benchmarks.ceiling.MatmulShape;
import io.tessera.models.config.Architecture;
import io.tessera.models.flops.ModelShape;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** JSON, CSV, console and PNG writers on synthetic rows (no measurement runs here). */
class ReportWritersTest {

    static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static final ModelShape SHAPE = new ModelShape(Architecture.BERT, 64, 2, 4, 256, 32, 1000, 4, 32);

    static Ceiling ceiling() {
        MatmulShape s = MatmulShape.BERT_MLP;
        return new Ceiling(List.of(
                new MatmulMeasurement("libtorch", "fp32", s, MatmulMeasurement.Status.MEASURED,
                        new Samples(List.of(0.10, 0.12, 0.11)), 0, "synthetic"),
                new MatmulMeasurement("openblas", "fp32", s, MatmulMeasurement.Status.MEASURED,
                        new Samples(List.of(0.05, 0.06, 0.04)), 1e-7, "synthetic"),
                MatmulMeasurement.notMeasured("libtorch", "bf16", s, MatmulMeasurement.Status.UNSUPPORTED, "no bf16, by design")), 2);
    }

    @Test
    void mfuDividesByTheCeilingOfTheStepsPrecision() {
        MatmulShape s = MatmulShape.BERT_MLP;
        double flop = 2.0 * s.m() * s.k() * s.n();
        Ceiling c = new Ceiling(List.of(
                new MatmulMeasurement("libtorch", "fp32", s, MatmulMeasurement.Status.MEASURED,
                        new Samples(List.of(flop / 100e9)), 0, "100 GFLOP/s"),
                new MatmulMeasurement("pytorch", "fp16", s, MatmulMeasurement.Status.MEASURED,
                        new Samples(List.of(flop / 400e9)), 1e-3, "400 GFLOP/s"),
                MatmulMeasurement.notMeasured("libtorch", "bf16", s, MatmulMeasurement.Status.UNSUPPORTED, "no bf16")), 1);
        assertEquals(0.5, c.mfu(0.05), 1e-9);
        assertEquals(0.5, c.mfu(0.05, "fp32"), 1e-9);
        assertEquals(0.125, c.mfu(0.05, "fp16"), 1e-9);
        assertTrue(Double.isNaN(c.mfu(0.05, "bf16")), "no bf16 product was measured");
        ResultRow half = ResultRow.measured(ResultRow.TESSERA, "step", "m", SHAPE, 1, 1, 1, 0.1, c, "", "cuda", "fp16");
        assertEquals(half.tflops() * 1000 / 400, half.mfu(), 1e-9);
        assertEquals("cuda", JsonReport.row(half).get("device").getAsString());
        assertEquals("fp16", JsonReport.row(half).get("precision").getAsString());
        ResultRow full = ResultRow.measured(ResultRow.PYTORCH, "step", "m", SHAPE, 1, 1, 1, 0.1, c, "", "cuda", "fp32");
        assertFalse(half.pairingKey().equals(full.pairingKey()), "fp16 and fp32 rows are not compared with each other");
        assertTrue(ConsoleTable.ceiling(c).contains("ceiling: 400.0 GFLOP/s fp16 (pytorch"), ConsoleTable.ceiling(c));
    }

    static List<ResultRow> scalingRows() {
        Ceiling c = ceiling();
        List<ResultRow> rows = List.of(
                ResultRow.measured(ResultRow.TESSERA, "weak", "bert-tiny/L2", SHAPE, 1, 1, 2, 0.10, c, "synthetic"),
                ResultRow.measured(ResultRow.TESSERA, "weak", "bert-tiny/L2", SHAPE, 1, 2, 1, 0.125, c, "synthetic, with \"quotes\", commas"),
                ResultRow.measured(ResultRow.TESSERA, "weak", "bert-tiny/L2", SHAPE, 2, 1, 1, 0.08, c, "synthetic"),
                ResultRow.measured(ResultRow.PYTORCH, "weak", "bert-tiny/L2", SHAPE, 1, 1, 2, 0.09, c, "synthetic"),
                ResultRow.measured(ResultRow.PYTORCH, "weak", "bert-tiny/L2", SHAPE, 1, 2, 1, 0.15, c, "synthetic"));
        return io.tessera.benchmarks.scaling.ScalingEfficiency.apply(rows);
    }

    static Report report(List<ResultRow> rows) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("cores", "2");
        env.put("libtorch", "2.7.1");
        return new Report("scaling", env, ceiling(), rows, List.of("a note"));
    }

    @Test
    void rowRatesFollowFromStepTime() {
        ResultRow r = scalingRows().get(1);
        assertEquals(8, r.globalBatch());
        assertEquals(8 * 32 / 0.125, r.tokensPerSecond(), 1e-9);
        assertEquals(2048.0 / (2 * 1280.0), r.efficiency(), 1e-12);
        assertEquals(r.tflops() * 1000 / ceiling().gflops(), r.mfu(), 1e-12);
        assertEquals("openblas", ceiling().best().backend());
    }

    @Test
    void jsonCarriesRowsCeilingAndComparisons() {
        JsonObject j = JsonParser.parseString(JsonReport.toJson(report(scalingRows()))).getAsJsonObject();
        assertEquals("scaling", j.get("benchmark").getAsString());
        JsonObject c = j.getAsJsonObject("ceiling");
        assertEquals("openblas", c.get("backend").getAsString());
        assertEquals(MatmulShape.BERT_MLP.flops() / 0.04 / 1e9, c.get("gflops").getAsDouble(), 1e-6);
        assertEquals("best run", c.get("estimate").getAsString());
        assertEquals(3, c.getAsJsonArray("measurements").size());
        assertTrue(c.getAsJsonArray("measurements").get(2).getAsJsonObject().get("gflops").isJsonNull());
        JsonArray rows = j.getAsJsonArray("rows");
        assertEquals(5, rows.size());
        JsonObject r1 = rows.get(1).getAsJsonObject();
        for (String key : List.of("system", "model", "world", "tp", "dp", "tokens_per_s", "tflops", "mfu", "efficiency")) {
            assertTrue(r1.has(key), key);
        }
        assertEquals("tessera", r1.get("system").getAsString());
        assertEquals(2, r1.get("world").getAsInt());
        assertEquals(2048.0, r1.get("tokens_per_s").getAsDouble(), 1e-9);
        JsonArray comps = j.getAsJsonArray("comparisons");
        assertEquals(2, comps.size());
        JsonObject at2 = comps.get(1).getAsJsonObject();
        assertEquals(2048.0 / (8 * 32 / 0.15), at2.get("throughput_ratio").getAsDouble(), 1e-9);
        assertEquals("a note", j.getAsJsonArray("notes").get(0).getAsString());
    }

    @Test
    void mfuAboveOneIsFlagged() {
        assertTrue(ResultRow.implausibleMfu(scalingRows()).isEmpty());
        ResultRow fast = ResultRow.measured(ResultRow.TESSERA, "step", "m", SHAPE.withBatch(4000), 1, 1, 2, 0.1, ceiling(), "");
        assertTrue(fast.mfu() > 1);
        assertTrue(ResultRow.implausibleMfu(List.of(fast)).get().startsWith("MFU above 100%"));
    }

    @Test
    void jsonWritesNullForNotApplicable() {
        ResultRow step = ResultRow.measured(ResultRow.TESSERA, "step", "m", SHAPE, 1, 1, 2, 0.1, null, "");
        JsonObject r = JsonReport.row(step);
        assertTrue(r.get("mfu").isJsonNull());
        assertTrue(r.get("efficiency").isJsonNull());
    }

    @Test
    void csvHasHeaderOneLinePerRowAndQuotes(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("out/rows.csv");
        CsvReport.write(f, CsvReport.rows(scalingRows()));
        List<String> lines = Files.readAllLines(f);
        assertEquals(6, lines.size());
        assertEquals(String.join(",", CsvReport.ROW_COLUMNS), lines.get(0));
        assertTrue(lines.get(2).endsWith(",\"synthetic, with \"\"quotes\"\", commas\",cpu,fp32,,"), lines.get(2));
        assertTrue(lines.get(1).startsWith("tessera,weak,bert-tiny/L2,2,64,32,4,4,1,1,1,2,0.1,1280.0,"), lines.get(1));
        String ceilingCsv = CsvReport.ceiling(ceiling());
        assertEquals(4, ceilingCsv.split("\n").length);
        assertTrue(ceilingCsv.contains("libtorch,bf16,2048x768x3072,unsupported,,,0,,2,\"no bf16, by design\""), ceilingCsv);
    }

    @Test
    void scalingPlotsAreValidPngs(@TempDir Path dir) throws IOException {
        List<Path> files = Plots.write(scalingRows(), dir.resolve("plots"), "scaling");
        assertEquals(List.of(dir.resolve("plots/scaling-throughput.png"), dir.resolve("plots/scaling-efficiency.png")), files);
        for (Path f : files) {
            assertValidPng(f);
        }
    }

    @Test
    void stepPlotIsAValidPng(@TempDir Path dir) throws IOException {
        List<ResultRow> rows = List.of(
                ResultRow.measured(ResultRow.TESSERA, "step", "bert-base/L2", SHAPE, 1, 1, 2, 0.2, null, ""),
                ResultRow.measured(ResultRow.PYTORCH, "step", "bert-base/L2", SHAPE, 1, 1, 2, 0.25, null, ""));
        List<Path> files = Plots.write(rows, dir, "step");
        assertEquals(1, files.size());
        assertValidPng(files.get(0));
    }

    @Test
    void consoleTableShowsRowsRatiosAndCeiling() {
        String text = ConsoleTable.render(report(scalingRows()));
        assertTrue(text.contains("ceiling: 241.6 GFLOP/s fp32 (openblas, 2048x768x3072, 2 threads, best of 3 runs; median 193.3)"), text);
        assertTrue(text.contains("tessera/pytorch"), text);
        assertTrue(text.contains("note: a note"), text);
        assertTrue(text.lines().noneMatch(l -> l.endsWith(" ")), "no trailing blanks");
    }

    static void assertValidPng(Path f) throws IOException {
        assertTrue(Files.size(f) > 1000, f + " is " + Files.size(f) + " bytes");
        byte[] head = Arrays.copyOf(Files.readAllBytes(f), 8);
        assertArrayEquals(PNG_SIGNATURE, head, f + " does not start with the PNG signature");
        BufferedImage img = ImageIO.read(f.toFile());
        assertNotNull(img, f + " is not decodable");
        assertTrue(img.getWidth() > 100 && img.getHeight() > 100);
    }
}
