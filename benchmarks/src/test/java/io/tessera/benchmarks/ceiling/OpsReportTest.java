package io.tessera.benchmarks.ceiling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.optim.plan.estimate.OpClass;
import io.tessera.optim.plan.estimate.OpCosts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JSON of {@code bench ops} round-trips, prices each class per element and names what is wrong in a bad file. */
class OpsReportTest {

    private static OpsReport report() {
        return new OpsReport(new OpsReport.Shape("bert-base", 2, 8, 128, 768, 12, 3072, 30592), 2, 1, 3,
                List.of(new OpsReport.Op(OpClass.GELU, "[1024, 3072]", 3_145_728, 0.01, 0.02, 0.031_457_28),
                        new OpsReport.Op(OpClass.ADAMW, "the model's 46 tensors", 1_000_000, 0.005, 0, 0.005)),
                new OpsReport.Gemm("planned", 61.5, List.of(new OpsReport.Product("1024x768x3072", 2, 70.0))),
                Map.of("loadavg", "1.0 1.0 1.0"));
    }

    @Test
    void roundTripsAndPricesEachClassPerElement(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("ops.json");
        report().write(file);
        OpsReport back = OpsReport.read(file);
        assertEquals(report().shape(), back.shape());
        assertEquals(2, back.threads());
        assertEquals(61.5, back.gemm().gflops());
        assertEquals("1024x768x3072", back.gemm().products().get(0).shape());
        OpCosts costs = back.costs("ops.json");
        assertEquals(1e-8, costs.seconds(OpClass.GELU), 1e-20);         // 0.03145728 s / 3,145,728 elements
        assertEquals(5e-9, costs.seconds(OpClass.ADAMW), 1e-20);
        assertEquals(0, costs.seconds(OpClass.SOFTMAX));                  // absent: free
        assertTrue(Files.readString(file).contains("\"seconds_per_element\""));
        assertTrue(back.table().contains("gelu") && back.table().contains("61.5 GFLOP/s"), back.table());
    }

    @Test
    void aReportWithoutProductsHasNoGemmRate() {
        OpsReport r = report();
        OpsReport noGemm = new OpsReport(r.shape(), 2, 1, 3, r.ops(), null, Map.of());
        assertEquals(null, OpsReport.parse(noGemm.toJson(), "x.json").gemm());
    }

    @Test
    void badFilesAreNamedWithWhatIsWrongAndHowToWriteOne() {
        String m = assertThrows(IllegalArgumentException.class, () -> OpsReport.parse("{\"benchmark\": \"step\"}", "s.json"))
                .getMessage();
        assertTrue(m.contains("s.json is not a bench ops report") && m.contains("bench ops --json"), m);
        String noOps = report().toJson().replace("\"ops\":", "\"rows\":");
        m = assertThrows(IllegalArgumentException.class, () -> OpsReport.parse(noOps, "o.json")).getMessage();
        assertTrue(m.contains("o.json") && m.contains("\"ops\" is missing"), m);
        String badClass = report().toJson().replace("\"gelu\"", "\"conv\"");
        m = assertThrows(IllegalArgumentException.class, () -> OpsReport.parse(badClass, "c.json")).getMessage();
        assertTrue(m.contains("unknown op class \"conv\""), m);
        m = assertThrows(IllegalArgumentException.class, () -> OpsReport.parse("[1, 2]", "a.json")).getMessage();
        assertTrue(m.contains("a.json is not a readable bench ops report"), m);
    }

    @Test
    void optionsNameEveryBadValue() {
        String m = assertThrows(IllegalArgumentException.class,
                () -> OpsOptions.parse(new String[] {"--model", "nope", "--reps", "0", "--warmup", "-1"})).getMessage();
        assertTrue(m.contains("--model nope") && m.contains("--reps 0") && m.contains("--warmup -1"), m);
        OpsOptions o = OpsOptions.parse(new String[] {"--layers", "4", "--no-gemm"});
        assertEquals(4, o.config().numLayers());
        assertTrue(!o.gemm());
    }
}
