package io.tessera.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.launch.LocalCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link StageTensors}: stage 0 receives every stage's tensors, in stage order, the first of each name kept. */
class StageTensorsTest {

    @Test
    void stageZeroCollectsEveryStagesTensorsOnce() {
        for (int p : new int[] {2, 3}) {
            List<Map<String, float[]>> got = LocalCluster.run(new ParallelLayout(p, 1, p, 1), Duration.ofSeconds(60), ctx -> {
                try (NDManager m = NDManager.newBaseManager()) {
                    int s = ctx.pipelineRank();
                    Map<String, NDArray> mine = new LinkedHashMap<>();
                    // Names of uneven lengths, so that the headers are not multiples of 4 bytes.
                    mine.put("stage" + "x".repeat(s) + ".w", m.arange(0f, 6f).reshape(new Shape(2, 3)).add(10 * s));
                    mine.put("tied", m.create(new float[] {s}));
                    Map<String, float[]> out = new LinkedHashMap<>();
                    StageTensors.gatherToFirst(ctx.pipeline(), mine, m).forEach((k, v) -> out.put(k, v.toFloatArray()));
                    return out;
                }
            });
            Map<String, float[]> first = got.get(0);
            List<String> expected = new ArrayList<>(List.of("stage.w", "tied"));
            for (int s = 1; s < p; s++) {
                expected.add("stage" + "x".repeat(s) + ".w");
            }
            assertEquals(expected, List.copyOf(first.keySet()), "stage order, each name once");
            assertArrayEquals(new float[] {0}, first.get("tied"), "stage 0's tensor of a shared name is kept");
            assertArrayEquals(new float[] {10, 11, 12, 13, 14, 15}, first.get("stagex.w"));
            for (int s = 1; s < p; s++) {
                assertTrue(got.get(s).isEmpty(), "stage " + s + " keeps nothing");
            }
        }
    }
}
