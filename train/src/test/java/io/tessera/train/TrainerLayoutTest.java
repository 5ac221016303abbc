package io.tessera.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With dropout off, the same model, data, seed and global batch trained at different layouts ends with
 * the same parameters: TP=1/DP=1 is the reference for TP=2, DP=2 with ZeRO 0–3, and TP=2 × DP=2.
 */
class TrainerLayoutTest {

    @TempDir
    Path dir;

    @Test
    void everyLayoutEndsWithTheParametersOfOneProcess() throws Exception {
        Path ref = dir.resolve("tp1dp1");
        List<Trainer.Result> reference = TrainerFixture.run(TrainerFixture.tinyBert(ref).build());
        assertTrue(reference.get(0).after().termLoss("mlm") < reference.get(0).before().termLoss("mlm"), "held-out MLM loss falls");
        record Layout(String name, int tp, int dp, int zero) {}
        for (Layout l : List.of(new Layout("tp2", 2, 1, 0), new Layout("dp2-zero0", 1, 2, 0), new Layout("dp2-zero1", 1, 2, 1),
                new Layout("dp2-zero2", 1, 2, 2), new Layout("dp2-zero3", 1, 2, 3), new Layout("tp2dp2-zero1", 2, 2, 1))) {
            Path out = dir.resolve(l.name());
            List<Trainer.Result> r = TrainerFixture.run(TrainerFixture.tinyBert(out).optTensorParallel(l.tp()).optDataParallel(l.dp())
                    .optZero(l.zero()).build());
            for (int i = 0; i < reference.get(0).losses().size(); i++) {
                assertEquals(reference.get(0).losses().get(i), r.get(0).losses().get(i), 1e-4, l.name() + " loss at step " + (i + 1));
            }
            double rel = TrainerFixture.maxRelativeDifference(out.resolve("model"), ref.resolve("model"), 1e-3);
            System.out.printf("%s: parameters differ from TP=1/DP=1 by %.2e (relative)%n", l.name(), rel);
            assertTrue(rel <= 1e-4, l.name() + ": parameters differ by " + rel);
        }
    }
}
