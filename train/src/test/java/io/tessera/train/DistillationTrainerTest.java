package io.tessera.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.io.Safetensors;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.Presets;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.launch.LocalCluster;
import io.tessera.train.distill.DistilBertDistillation;
import io.tessera.train.distill.DistillationLoss;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DistilBERT's recipe run by the Trainer: pretrain a 4-layer BERT teacher, distil it into a 2-layer
 * DistilBERT student, at several layouts.
 */
class DistillationTrainerTest {

    @TempDir
    static Path shared;

    static Path teacher;

    @BeforeAll
    static void pretrainATeacher() {
        TransformerConfig bert4 = Presets.get("bert-tiny").toBuilder().setNumLayers(4).build();
        TrainerFixture.run(TrainerFixture.tinyBert(shared.resolve("teacher-run")).setModel(bert4, "bert-tiny-4").optSteps(3).build());
        teacher = shared.resolve("teacher-run").resolve("model");
    }

    private static TrainConfig.Builder distil(Path out) throws IOException {
        return DistilBertDistillation.configure(TrainerFixture.tinyBert(out).optSteps(3), teacher, null, 0);
    }

    private static List<Trainer.Result> run(TrainConfig cfg, int teacherTp, List<TrainingListener> listeners) {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        return LocalCluster.run(ParallelLayout.of(cfg.world(), cfg.tensorParallel(), 1), Duration.ofSeconds(300), ctx -> {
            DistilBertDistillation recipe = new DistilBertDistillation(teacher, null, DistillationLoss.PAPER, teacherTp);
            List<TrainingListener> mine = listeners.isEmpty() ? List.of() : List.of(listeners.get(0), frozenTeacher(recipe));
            try {
                return new Trainer(cfg, ctx, ai.djl.Device.cpu(), ctx.rank() == 0 ? System.out : quiet, mine).withRecipe(recipe).run();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    /** Checks at every step that the teacher's parameters are those it started with and that it holds no gradient buffers. */
    private static TrainingListener frozenTeacher(DistilBertDistillation recipe) {
        return new TrainingListener() {
            float[] start;

            @Override
            public void onStart(int startStep, int steps) {
                start = recipe.teacherParameters().params().toFloatArray();
            }

            @Override
            public void onStep(StepReport report) {
                assertFalse(recipe.teacherParameters().hasGradients(), "no gradient buffers for the teacher");
                assertArrayEquals(start, recipe.teacherParameters().params().toFloatArray(), "the teacher is unchanged after step " + report.step());
                steps.incrementAndGet();
            }
        };
    }

    private static final java.util.concurrent.atomic.AtomicInteger steps = new java.util.concurrent.atomic.AtomicInteger();

    @Test
    void distilsIntoAHalfDepthStudentWithAFrozenTeacher() throws Exception {
        Path out = shared.resolve("one");
        TrainConfig cfg = distil(out).build();
        assertEquals(Task.MLM, cfg.task());
        assertEquals(Architecture.DISTILBERT, cfg.model().architecture());
        assertEquals(2, cfg.model().numLayers(), "half the teacher's 4 layers");
        List<java.util.Set<String>> terms = new java.util.ArrayList<>();
        TrainingListener termNames = new TrainingListener() {
            @Override
            public void onStep(StepReport report) {
                terms.add(report.termLosses().keySet());
            }
        };
        steps.set(0);
        Trainer.Result r = run(cfg, 0, List.of(termNames)).get(0);
        assertEquals(3, steps.get(), "the frozen-teacher check ran after every step");
        assertEquals(java.util.Set.of("ce", "mlm", "cos"), terms.get(0));
        for (double loss : r.losses()) {
            assertTrue(Double.isFinite(loss) && loss > 0, "loss " + loss);
        }
        TransformerConfig exported = HfConfigJson.read(r.exported());
        assertEquals(Architecture.DISTILBERT, exported.architecture());
        assertEquals(2, exported.numLayers());
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> init = Safetensors.load(out.resolve(DistilBertDistillation.STUDENT_INIT).resolve(HfCheckpoint.WEIGHTS_FILE), m);
            Map<String, NDArray> t = Safetensors.load(teacher.resolve(HfCheckpoint.WEIGHTS_FILE), m);
            Map<String, NDArray> after = Safetensors.load(r.exported().resolve(HfCheckpoint.WEIGHTS_FILE), m);
            assertArrayEquals(t.get("bert.encoder.layer.2.intermediate.dense.weight").toFloatArray(),
                    init.get("distilbert.transformer.layer.1.ffn.lin1.weight").toFloatArray(), "student layer 1 starts as teacher layer 2");
            assertFalse(java.util.Arrays.equals(init.get("distilbert.transformer.layer.1.ffn.lin1.weight").toFloatArray(),
                    after.get("distilbert.transformer.layer.1.ffn.lin1.weight").toFloatArray()), "the student trained");
        }
        String metrics = java.nio.file.Files.readString(out.resolve("metrics.jsonl"));
        assertTrue(metrics.contains("\"ce_loss\"") && metrics.contains("\"cos_loss\"") && metrics.contains("\"mlm_loss\""), metrics);
    }

    @Test
    void everyLayoutDistilsAsOneProcess() throws Exception {
        Path one = run(distil(shared.resolve("l1")).build(), 0, List.of()).get(0).exported();
        Path tp2 = run(distil(shared.resolve("tp2")).optTensorParallel(2).build(), 0, List.of()).get(0).exported();
        Path tp2Teacher1 = run(distil(shared.resolve("tp2t1")).optTensorParallel(2).build(), 1, List.of()).get(0).exported();
        Path dp2 = run(distil(shared.resolve("dp2")).optDataParallel(2).optZero(2).build(), 0, List.of()).get(0).exported();
        Path dp2z3 = run(distil(shared.resolve("dp2z3")).optDataParallel(2).optZero(3).build(), 0, List.of()).get(0).exported();
        assertTrue(TrainerFixture.maxRelativeDifference(tp2, one, 1e-5) < 1e-5, "student TP=2, teacher TP=2");
        assertTrue(TrainerFixture.maxRelativeDifference(tp2Teacher1, one, 1e-5) < 1e-5, "student TP=2, teacher TP=1");
        assertTrue(TrainerFixture.maxRelativeDifference(dp2, one, 1e-5) < 1e-5, "DP=2 ZeRO-2");
        assertTrue(TrainerFixture.maxRelativeDifference(dp2z3, one, 1e-5) < 1e-5, "DP=2 ZeRO-3");
    }

    @Test
    void aResumedDistillationEndsBitIdentical() throws Exception {
        Path straight = run(distil(shared.resolve("straight")).optSteps(4).build(), 0, List.of()).get(0).exported();
        Path halves = shared.resolve("halves");
        run(distil(halves).optSteps(4).optCheckpointEvery(2).build(), 0, List.of());
        // Drop the end and resume from step 2: the student comes from its checkpoint, the teacher from its directory.
        java.nio.file.Files.writeString(halves.resolve("checkpoints").resolve("latest"), "step-00000002");
        CheckpointStore.deleteTree(halves.resolve("checkpoints").resolve("step-00000004"));
        Path resumed = run(distil(halves).optSteps(4).optCheckpointEvery(2).optResume(true).build(), 0, List.of()).get(0).exported();
        assertEquals(0.0, TrainerFixture.maxRelativeDifference(resumed, straight, 0), "resume continues bit for bit");
    }

    @Test
    void refusesATeacherDegreeOutsideItsGroup() throws Exception {
        TrainConfig cfg = distil(shared.resolve("bad-tp")).optTensorParallel(2).build();
        RuntimeException e = assertThrows(RuntimeException.class, () -> run(cfg, 4, List.of()));
        Throwable root = e;
        while (root.getCause() != null && !(root instanceof IllegalArgumentException)) {
            root = root.getCause();
        }
        assertTrue(root.getMessage().contains("--teacher-tp 4") && root.getMessage().contains("degree 1 or at the student's"), root.getMessage());
    }
}
