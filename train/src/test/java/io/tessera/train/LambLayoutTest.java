package io.tessera.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tiny BERT trained 20 steps with LAMB (per-tensor trust ratios completed over the tensor- and
 * data-parallel groups) at DP=2 with ZeRO-3 and at TP=2 × DP=2 with ZeRO-2 ends with the parameters of
 * one process on the same global batch.
 */
class LambLayoutTest {

    @TempDir
    Path dir;

    @Test
    void lambTwentyStepsMatchesOneProcessAtEveryLayout() throws Exception {
        TrainConfig.Builder base = TrainerFixture.tinyBert(dir.resolve("ref")).optSteps(20).optWarmupSteps(2)
                .optOptimizer("lamb").optGlobalBatch(4).optMicroBatch(1).optLr(1e-2);
        Path ref = dir.resolve("ref");
        TrainerFixture.run(base.build());
        record Layout(String name, int tp, int dp, int zero) {}
        for (Layout l : List.of(new Layout("dp2-zero3", 1, 2, 3), new Layout("tp2dp2-zero2", 2, 2, 2))) {
            Path out = dir.resolve(l.name());
            TrainerFixture.run(base.setOut(out).optTensorParallel(l.tp()).optDataParallel(l.dp()).optZero(l.zero()).build());
            double rel = TrainerFixture.maxRelativeDifference(out.resolve("model"), ref.resolve("model"), 1e-2);
            System.out.printf("LAMB %s: parameters differ from TP=1/DP=1 by %.2e (relative)%n", l.name(), rel);
            assertTrue(rel <= 1e-4, l.name() + ": parameters differ by " + rel);
        }
    }
}
