package io.tessera.examples.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Resuming after step k gives exactly the losses of the uninterrupted run, and a checkpoint write that
 * died midway leaves the previous checkpoint in force.
 */
class ResumeTest {

    @TempDir
    Path dir;

    @ParameterizedTest(name = "tp={0} dp={1} zero={2}")
    @CsvSource({"2,1,0", "1,2,2"})
    void resumedRunReproducesTheStraightRunBitForBit(int tp, int dp, int zero) throws IOException {
        Path out = dir.resolve("run");
        TrainConfig cfg = TrainerFixture.tinyBert(out).optSteps(4).optCheckpointEvery(2).optTensorParallel(tp).optDataParallel(dp)
                .optZero(zero).build();
        List<Double> straight = TrainerFixture.run(cfg).get(0).losses();
        assertEquals(4, straight.size());
        // Roll the run back to its step-2 checkpoint, as if it had been killed after saving it.
        Path checkpoints = out.resolve("checkpoints");
        Files.writeString(checkpoints.resolve("latest"), "step-00000002", StandardCharsets.UTF_8);
        CheckpointStore.deleteTree(checkpoints.resolve("step-00000004"));
        List<Double> resumed = TrainerFixture.run(cfg.toBuilder().optResume(true).build()).get(0).losses();
        assertEquals(straight.subList(2, 4), resumed, "losses of steps 3 and 4 after resuming from step 2");
    }

    @Test
    void aCheckpointKilledMidWriteLeavesThePreviousOneValid() throws IOException {
        Path out = dir.resolve("run");
        TrainConfig cfg = TrainerFixture.tinyBert(out).optSteps(2).build();
        List<Double> first = TrainerFixture.run(cfg).get(0).losses();
        Path checkpoints = out.resolve("checkpoints");
        // What a process killed while writing step 4 leaves: a partial folder with a truncated shard.
        Path partial = Files.createDirectories(checkpoints.resolve("step-00000004.partial"));
        byte[] good = Files.readAllBytes(checkpoints.resolve("step-00000002/rank-00000.safetensors"));
        Files.write(partial.resolve("rank-00000.safetensors"), java.util.Arrays.copyOf(good, good.length / 3));
        assertEquals(checkpoints.resolve("step-00000002"), new CheckpointStore(out).latest().orElseThrow());
        List<Double> resumed = TrainerFixture.run(cfg.toBuilder().optSteps(3).optWarmupSteps(1).optResume(true).build()).get(0).losses();
        assertEquals(1, resumed.size(), "resumed from step 2 and ran step 3");
        assertTrue(Files.isDirectory(checkpoints.resolve("step-00000003")));
        assertTrue(!Files.exists(partial), "the stale partial checkpoint was removed by the next save");
        assertTrue(first.size() == 2);
    }
}
