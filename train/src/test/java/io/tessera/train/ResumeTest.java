package io.tessera.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.gemm.GemmPlan;
import io.tessera.core.gemm.Gemms;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * With the defaults (the model's dropout, the {@code planned} GEMM strategy), two runs of the same
 * command are bit-identical, and a run resumed from its step-k checkpoint ends bit-identical to the
 * uninterrupted run, even when the resuming process would have measured other GEMM choices; a
 * checkpoint write that died midway leaves the previous checkpoint in force.
 */
class ResumeTest {

    @TempDir
    Path dir;

    @AfterEach
    void restoreGemm() {
        TrainerFixture.defaultGemm();
    }

    private TrainConfig.Builder defaults(Path out) {
        return TrainerFixture.tinyBert(out).optDropout(null); // bert-tiny's own dropout, 0.1
    }

    @Test
    void twoRunsOfTheSameCommandAreBitIdentical() throws IOException {
        TrainConfig cfg = defaults(dir.resolve("a")).optTensorParallel(2).build();
        // Each run starts as a new process would: a fresh default strategy over this machine's plan cache.
        TrainerFixture.freshDefaultGemm(dir.resolve("machine-plan.json"));
        List<Double> first = TrainerFixture.run(cfg).get(0).losses();
        TrainerFixture.freshDefaultGemm(dir.resolve("machine-plan.json"));
        TrainConfig again = cfg.toBuilder().setOut(dir.resolve("b")).build();
        List<Double> second = TrainerFixture.run(again).get(0).losses();
        assertEquals(first, second, "losses of two identical runs");
        assertEquals(-1L, Files.mismatch(dir.resolve("a/model/model.safetensors"), dir.resolve("b/model/model.safetensors")),
                "exported weights differ");
        assertTrue(Files.size(dir.resolve("machine-plan.json")) > 2, "the first run recorded its GEMM choices");
    }

    @ParameterizedTest(name = "tp={0} dp={1} zero={2}")
    @CsvSource({"2,1,0", "1,2,2", "1,2,3"})
    void resumedRunEndsBitIdenticalToTheStraightRun(int tp, int dp, int zero) throws IOException {
        Path out = dir.resolve("run");
        TrainConfig cfg = defaults(out).optSteps(4).optCheckpointEvery(2).optTensorParallel(tp).optDataParallel(dp).optZero(zero)
                .build();
        TrainerFixture.freshDefaultGemm(dir.resolve("machine-a.json"));
        List<Double> straight = TrainerFixture.run(cfg).get(0).losses();
        assertEquals(4, straight.size());
        Path straightModel = Files.copy(out.resolve("model/model.safetensors"), dir.resolve("straight.safetensors"),
                StandardCopyOption.REPLACE_EXISTING);
        // Roll the run back to its step-2 checkpoint, as if it had been killed after saving it, and resume
        // in a process with an empty plan cache: it must follow the checkpoint's GEMM plan, not measure.
        Path checkpoints = out.resolve("checkpoints");
        Files.writeString(checkpoints.resolve("latest"), "step-00000002", StandardCharsets.UTF_8);
        CheckpointStore.deleteTree(checkpoints.resolve("step-00000004"));
        TrainerFixture.freshDefaultGemm(dir.resolve("machine-b.json"));
        List<Double> resumed = TrainerFixture.run(cfg.toBuilder().optResume(true).build()).get(0).losses();
        assertEquals(straight.subList(2, 4), resumed, "losses of steps 3 and 4 after resuming from step 2");
        assertEquals(-1L, Files.mismatch(straightModel, out.resolve("model/model.safetensors")),
                "final weights of the resumed run differ from the straight run's");
        GemmPlan saved = GemmPlan.read(checkpoints.resolve("step-00000002").resolve(GemmPlan.RUN_FILE));
        assertTrue(!saved.decisions().isEmpty(), "the checkpoint records the GEMM choices");
        saved.decisions().forEach((shape, backend) -> assertEquals(backend, GemmPlan.of(Gemms.current()).decisions().get(shape),
                "the resumed process computes " + shape + " with the recorded backend"));
    }

    @Test
    void aCheckpointKilledMidWriteLeavesThePreviousOneValid() throws IOException {
        Path out = dir.resolve("run");
        TrainConfig cfg = TrainerFixture.tinyBert(out).optSteps(2).build();
        List<Double> first = TrainerFixture.run(cfg).get(0).losses();
        Path checkpoints = out.resolve("checkpoints");
        // What a process killed while writing step 4 leaves: a partial folder with a truncated state file.
        Path partial = Files.createDirectories(checkpoints.resolve("step-00000004.partial"));
        byte[] good = Files.readAllBytes(checkpoints.resolve("step-00000002").resolve(CheckpointStore.STATE));
        Files.write(partial.resolve(CheckpointStore.STATE), java.util.Arrays.copyOf(good, good.length / 3));
        assertEquals(checkpoints.resolve("step-00000002"), new CheckpointStore(out).latest().orElseThrow());
        List<Double> resumed = TrainerFixture.run(cfg.toBuilder().optSteps(3).optWarmupSteps(1).optResume(true).build()).get(0).losses();
        assertEquals(1, resumed.size(), "resumed from step 2 and ran step 3");
        assertTrue(Files.isDirectory(checkpoints.resolve("step-00000003")));
        assertTrue(!Files.exists(partial), "the stale partial checkpoint was removed by the next save");
        assertEquals(2, first.size());
    }
}
