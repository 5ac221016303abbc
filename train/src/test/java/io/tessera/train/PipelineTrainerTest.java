package io.tessera.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.models.config.Presets;
import io.tessera.parallel.pipeline.ScheduleKind;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer with pipeline stages ({@code --pp}): with dropout off, a BERT run at PP = 2 (alone, with TP = 2,
 * with DP = 2 and ZeRO-1 or ZeRO-2, interleaved with V = 2) has the losses, held-out figures and exported weights of
 * the one-process run; its checkpoint resumes bit-exactly at PP = 2 and loads at PP = 1 (layout-independent);
 * the pipeline rules are refused when the configuration is built, before any rank allocates.
 */
class PipelineTrainerTest {

    @TempDir
    Path dir;

    /** bert-tiny with four layers, so that PP 2 × V 2 splits them. */
    private static TrainConfig.Builder fourLayers(Path out) {
        return TrainerFixture.tinyBert(out).setModel(Presets.get("bert-tiny").toBuilder().setNumLayers(4).build(), "bert-tiny-4");
    }

    @Test
    void pipelineLayoutsEndWithTheParametersOfOneProcess() throws Exception {
        Path ref = dir.resolve("one");
        Trainer.Result reference = TrainerFixture.run(fourLayers(ref).build()).get(0);
        record Layout(String name, int tp, int pp, int dp, int zero, ScheduleKind schedule, int v) {}
        for (Layout l : List.of(new Layout("pp2", 1, 2, 1, 0, ScheduleKind.ONE_F_ONE_B, 1),
                new Layout("pp2-gpipe-tp2", 2, 2, 1, 0, ScheduleKind.GPIPE, 1),
                new Layout("pp2-dp2-zero1", 1, 2, 2, 1, ScheduleKind.ONE_F_ONE_B, 1),
                new Layout("pp2-dp2-zero2-gpipe", 1, 2, 2, 2, ScheduleKind.GPIPE, 1),
                new Layout("pp2-v2", 1, 2, 1, 0, ScheduleKind.INTERLEAVED, 2))) {
            Path out = dir.resolve(l.name());
            List<Trainer.Result> r = TrainerFixture.run(fourLayers(out).optTensorParallel(l.tp()).optPipelineParallel(l.pp())
                    .optDataParallel(l.dp()).optZero(l.zero()).optSchedule(l.schedule()).optVirtualStages(l.v()).build());
            for (Trainer.Result rank : r) {
                for (int i = 0; i < reference.losses().size(); i++) {
                    assertEquals(reference.losses().get(i), rank.losses().get(i), 1e-4, l.name() + " loss at step " + (i + 1));
                }
                assertEquals(reference.after().termLoss("mlm"), rank.after().termLoss("mlm"), 1e-4, l.name() + " held-out MLM loss");
                assertEquals(reference.after().termLoss("nsp"), rank.after().termLoss("nsp"), 1e-4, l.name() + " held-out NSP loss");
            }
            double rel = TrainerFixture.maxRelativeDifference(out.resolve("model"), ref.resolve("model"), 1e-3);
            System.out.printf("%s: exported parameters differ from one process by %.2e (relative)%n", l.name(), rel);
            assertTrue(rel <= 1e-4, l.name() + ": parameters differ by " + rel);
        }
    }

    @Test
    void pipelineCheckpointResumesBitExactlyAndLoadsAtAnotherLayout() throws IOException {
        Path out = dir.resolve("run");
        TrainConfig cfg = fourLayers(out).optSteps(4).optCheckpointEvery(2).optPipelineParallel(2).optDropout(0.1).build();
        List<Double> straight = TrainerFixture.run(cfg).get(0).losses();
        byte[] straightModel = Files.readAllBytes(out.resolve("model/model.safetensors"));
        Path checkpoints = out.resolve("checkpoints");
        Files.writeString(checkpoints.resolve("latest"), "step-00000002", StandardCharsets.UTF_8);
        CheckpointStore.deleteTree(checkpoints.resolve("step-00000004"));
        List<Double> resumed = TrainerFixture.run(cfg.toBuilder().optResume(true).build()).get(0).losses();
        assertEquals(straight.subList(2, 4), resumed, "losses of steps 3 and 4 after resuming from step 2 at PP 2");
        assertArrayEquals(straightModel, Files.readAllBytes(out.resolve("model/model.safetensors")),
                "the resumed run's exported weights are the straight run's, byte for byte");

        // The same checkpoint, resumed in one process (PP 1): the tensors load by name whatever the stages were.
        Path copy = dir.resolve("copy");
        Files.createDirectories(copy);
        for (Path p : (Iterable<Path>) Files.walk(out)::iterator) {
            Path target = copy.resolve(out.relativize(p).toString());
            if (Files.isDirectory(p)) {
                Files.createDirectories(target);
            } else {
                Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Files.writeString(copy.resolve("checkpoints/latest"), "step-00000002", StandardCharsets.UTF_8);
        CheckpointStore.deleteTree(copy.resolve("checkpoints/step-00000004"));
        List<Double> single = TrainerFixture.run(cfg.toBuilder().setOut(copy).optPipelineParallel(1).optResume(true)
                .build()).get(0).losses();
        assertEquals(2, single.size(), "resumed at PP 1 from the PP 2 checkpoint and ran steps 3 and 4");
        assertTrue(Double.isFinite(single.get(1)));
    }

    @Test
    void badPipelineLayoutsAreRefusedWhenTheConfigurationIsBuilt() {
        String layers = assertThrows(IllegalArgumentException.class,
                () -> TrainerFixture.tinyBert(dir).optPipelineParallel(4).build()).getMessage();
        assertTrue(layers.contains("2 layers do not split into 4 equal stages"), layers);
        String fewMicro = assertThrows(IllegalArgumentException.class,
                () -> fourLayers(dir).optPipelineParallel(4).optGlobalBatch(6).optMicroBatch(2).build()).getMessage();
        assertTrue(fewMicro.contains("3 micro-batches per step are fewer than the 4 pipeline stages"), fewMicro);
        String sp = assertThrows(IllegalArgumentException.class,
                () -> TrainerFixture.tinyBert(dir).optSequenceParallel(true).build()).getMessage();
        assertTrue(sp.contains("--sequence-parallel splits the sequence over the tensor-parallel group, but --tp is 1"), sp);
        String zero = assertThrows(IllegalArgumentException.class,
                () -> TrainerFixture.tinyBert(dir).optPipelineParallel(2).optZero(3).build()).getMessage();
        assertTrue(zero.contains("--zero 3 with --pp 2"), zero);
        String chunks = assertThrows(IllegalArgumentException.class,
                () -> fourLayers(dir).optPipelineParallel(2).optVirtualStages(2).build()).getMessage();
        assertTrue(chunks.contains("--virtual-stages 2 needs --schedule interleaved"), chunks);
    }
}
