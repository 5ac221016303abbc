package io.tessera.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint saved at TP=2 × DP=2 with ZeRO-2 resumes at TP=1 × DP=4 with ZeRO-3 and at one process,
 * and the next four steps' losses are those of the uninterrupted run (dropout 0: dropout masks depend on
 * the layout, the rest differs only in summation order). Changing what defines the run is refused.
 */
class ReshardTest {

    private static final double TOLERANCE = 1e-5;

    @TempDir
    static Path dir;

    private static TrainConfig saved;
    private static List<Double> straight;

    @BeforeAll
    static void straightRunAtTp2Dp2Zero2() {
        saved = TrainerFixture.tinyBert(dir.resolve("run")).optSteps(8).optCheckpointEvery(4).optTensorParallel(2)
                .optDataParallel(2).optZero(2).build();
        straight = TrainerFixture.run(saved).get(0).losses();
        assertEquals(8, straight.size());
    }

    /** A copy of the run folder rolled back to its step-4 checkpoint, as if it had stopped there. */
    private static Path rolledBack(String name) throws IOException {
        Path copy = dir.resolve(name);
        Path from = dir.resolve("run");
        try (var walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Path q = copy.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(q);
                } else {
                    Files.copy(p, q);
                }
            }
        }
        Files.writeString(copy.resolve("checkpoints/latest"), "step-00000004", StandardCharsets.UTF_8);
        CheckpointStore.deleteTree(copy.resolve("checkpoints/step-00000008"));
        return copy;
    }

    private static void assertContinues(List<Double> resumed, String layout) {
        assertEquals(4, resumed.size(), layout + ": resumed at step 4 of 8");
        double worst = 0;
        for (int i = 0; i < 4; i++) {
            worst = Math.max(worst, Math.abs(resumed.get(i) - straight.get(4 + i)) / Math.abs(straight.get(4 + i)));
        }
        System.out.printf("resharded to %s: steps 5-8 within %.2e relative of the uninterrupted run%n", layout, worst);
        for (int i = 0; i < 4; i++) {
            double expected = straight.get(4 + i);
            double rel = Math.abs(resumed.get(i) - expected) / Math.abs(expected);
            assertTrue(rel <= TOLERANCE, String.format("%s: loss of step %d is %.9f, uninterrupted %.9f (%.2e relative)", layout, 5 + i,
                    resumed.get(i), expected, rel));
        }
    }

    @Test
    void resumesAtTp1Dp4Zero3() throws IOException {
        TrainConfig cfg = saved.toBuilder().setOut(rolledBack("dp4")).optTensorParallel(1).optDataParallel(4).optZero(3)
                .optResume(true).build();
        assertContinues(TrainerFixture.run(cfg).get(0).losses(), "TP=1 × DP=4, ZeRO-3");
        CheckpointStore.Manifest m = CheckpointStore.readManifest(cfg.out().resolve("checkpoints/step-00000008"));
        assertEquals(new CheckpointStore.Layout(4, 1, 4, 3), m.savedLayout());
        assertEquals(64, m.samplesSeen());
    }

    @Test
    void resumesInOneProcess() throws IOException {
        TrainConfig cfg = saved.toBuilder().setOut(rolledBack("one")).optTensorParallel(1).optDataParallel(1).optZero(0)
                .optMicroBatch(8).optResume(true).build();
        assertContinues(TrainerFixture.run(cfg).get(0).losses(), "one process");
    }

    @Test
    void theManifestDescribesEveryTensor() throws IOException {
        CheckpointStore.Manifest m = CheckpointStore.readManifest(dir.resolve("run/checkpoints/step-00000004"));
        assertEquals(CheckpointStore.FORMAT, m.format());
        assertEquals(4, m.step());
        assertEquals(32, m.samplesSeen());
        assertEquals(4, m.optimizerSteps());
        assertEquals(new CheckpointStore.Layout(4, 2, 2, 2), m.savedLayout());
        CheckpointStore.TensorEntry query = m.tensors().get("param/bert.encoder.layer.0.attention.self.query.weight");
        assertEquals(List.of(32L, 32L), java.util.Arrays.stream(query.shape()).boxed().toList());
        assertEquals(0, query.tensorParallelDim(), "column-parallel: split along the output rows");
        assertEquals(2, query.tensorParallelDegree());
        assertEquals(3 * m.tensors().keySet().stream().filter(k -> k.startsWith("param/")).count(), m.tensors().size(),
                "a parameter and two moments per tensor");
    }

    @Test
    void pythonReadsTheCheckpointWithNumpyAlone() throws IOException, InterruptedException {
        Path script = null;
        for (Path p = Path.of("").toAbsolutePath(); p != null && script == null; p = p.getParent()) {
            Path s = p.resolve("scripts/read_checkpoint.py");
            script = Files.isRegularFile(s) ? s : null;
        }
        assertTrue(script != null, "scripts/read_checkpoint.py not found above " + Path.of("").toAbsolutePath());
        boolean numpy = new ProcessBuilder("/usr/bin/python3", "-c", "import numpy").start().waitFor() == 0;
        org.junit.jupiter.api.Assumptions.assumeTrue(numpy, "skipped: /usr/bin/python3 cannot import numpy (apt-get install python3-numpy)");
        // The straight run's last checkpoint holds the weights it exported.
        Process p = new ProcessBuilder("/usr/bin/python3", script.toString(), dir.resolve("run/checkpoints/step-00000008").toString(),
                "--compare-model", dir.resolve("run/model").toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.contains("step 8  samples 64") && out.contains("parameters equal the model's"), out);
    }

    @Test
    void changingTheGlobalBatchOrTheModelIsRefused() throws IOException {
        TrainConfig bigger = saved.toBuilder().setOut(rolledBack("batch")).optGlobalBatch(16).optResume(true).build();
        RuntimeException e = assertThrows(RuntimeException.class, () -> TrainerFixture.run(bigger));
        assertTrue(message(e).contains("--global-batch was 8, now 16"), message(e));
        TrainConfig wider = saved.toBuilder().setOut(rolledBack("model"))
                .setModel(saved.model().toBuilder().optIntermediateSize(128).build(), "bert-tiny-wide").optResume(true).build();
        e = assertThrows(RuntimeException.class, () -> TrainerFixture.run(wider));
        assertTrue(message(e).contains("model intermediate_size was 64, now 128"), message(e));
    }

    private static String message(Throwable e) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            sb.append(t.getMessage()).append(" | ");
        }
        return sb.toString();
    }
}
