package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.models.config.Presets;
import io.tessera.models.config.TransformerConfig;
import io.tessera.optim.plan.TrainingPrecision;
import io.tessera.optim.plan.estimate.Cluster;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code plan --best}: the layouts that fit, fastest first, each the same prediction as {@code plan --estimate}. */
class BestLayoutsTest {

    private static final long GIB = 1L << 30;

    @Test
    void gpt3OnA100sListsOnlyFittingLayoutsFastestFirst() {
        TransformerConfig gpt3 = Presets.get("gpt3-175b");
        List<BestLayouts.Candidate> all = BestLayouts.search(gpt3, 1024, 80 * GIB, Cluster.of("a100", 0.7), 1, 1536, 2048, true,
                TrainingPrecision.MIXED_FP16, 0);
        assertFalse(all.isEmpty());
        for (int i = 0; i < all.size(); i++) {
            BestLayouts.Candidate c = all.get(i);
            assertTrue(c.memoryBytes() <= 80 * GIB, c + " does not fit");
            assertEquals(1024, c.tp() * c.pp() * c.dp(), "uses every GPU");
            assertTrue(c.tp() <= 8, "tensor parallelism stays inside a node");
            assertTrue(c.pp() == 1 || c.zero() < 3, "no ZeRO-3 with pipeline stages");
            assertEquals(1536, c.microBatches() * c.dp(), "the global batch is fixed");
            if (i > 0) {
                assertTrue(all.get(i - 1).estimate().stepSeconds() <= c.estimate().stepSeconds(), "sorted by step time");
            }
        }
        // 175B parameters cannot sit on one GPU per replica: 16 bytes × 175e9 is 2.8 TB of model states.
        assertTrue(all.stream().noneMatch(c -> c.tp() == 1 && c.pp() == 1 && c.zero() < 3));
        // Megatron's published layout (tp 8 × pp 8) is among those that fit.
        assertTrue(all.stream().anyMatch(c -> c.tp() == 8 && c.pp() == 8), "tp 8 × pp 8 fits");
    }

    @Test
    void theBestLineIsWhatPlanEstimatePredictsForThatLayout() {
        PlanEstimateTest.Outcome best = PlanEstimateTest.tessera("plan", "--best", "3", "--model", "gpt2-xl", "--gpus", "16",
                "--gpu", "v100", "--gpu-memory", "32", "--micro-batch", "4", "--global-batch", "512", "--seq", "1024", "--recompute");
        assertEquals(0, best.code(), best.err());
        Matcher row = Pattern.compile("\\n\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+([\\d.]+)\\s+([\\d.]+)")
                .matcher(best.out());
        assertTrue(row.find(), best.out());
        PlanEstimateTest.Outcome direct = PlanEstimateTest.tessera("plan", "--estimate", "--model", "gpt2-xl", "--gpus", "16",
                "--gpu", "v100", "--micro-batch", "4", "--global-batch", "512", "--seq", "1024", "--recompute", "--tp", row.group(1), "--pp",
                row.group(2), "--virtual-stages", row.group(3), "--zero", row.group(5));
        assertEquals(0, direct.code(), direct.err());
        Matcher step = Pattern.compile("step time\\s+([\\d.]+) s").matcher(direct.out());
        assertTrue(step.find(), direct.out());
        assertEquals(Double.parseDouble(step.group(1)), Double.parseDouble(row.group(8)), 1e-3, best.out() + "\n" + direct.out());
    }

    @Test
    void nothingFitsIsSaidWithTheFixes() {
        PlanEstimateTest.Outcome o = PlanEstimateTest.tessera("plan", "--best", "3", "--model", "gpt3-175b", "--gpus", "8",
                "--gpu", "a100", "--gpu-memory", "40");
        assertEquals(3, o.code(), o.out() + o.err());
        assertTrue(o.out().contains("none fits"), o.out());
    }
}
