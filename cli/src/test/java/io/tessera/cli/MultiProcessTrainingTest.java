package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.io.Safetensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end through the command line: two separate JVMs (spawned by {@code --nproc 2}, talking over
 * the Netty backend) training with data parallelism and ZeRO-2 end with the model one process trains on
 * the same global batch.
 */
class MultiProcessTrainingTest {

    @TempDir
    Path dir;

    private static List<String> args(Path out) {
        return new ArrayList<>(List.of("pretrain", "--model", "bert-tiny", "--data", BadInputTest.data().toString(), "--out",
                out.toString(), "--steps", "3", "--warmup", "1", "--dropout", "0", "--vocab-size", "600", "--seq-length", "32",
                "--global-batch", "8", "--micro-batch", "2", "--eval-batches", "1", "--tp", "1"));
    }

    @Test
    @Timeout(300)
    void twoProcessesWithZero2EndWithTheSingleProcessModel() throws IOException {
        twoProcessesEndWithTheSingleProcessModel("--zero", "2");
    }

    /** {@code --pp 2}: the two processes are the model's two pipeline stages (one bert-tiny layer each). */
    @Test
    @Timeout(300)
    void twoPipelineStagesEndWithTheSingleProcessModel() throws IOException {
        twoProcessesEndWithTheSingleProcessModel("--pp", "2");
    }

    private void twoProcessesEndWithTheSingleProcessModel(String... layout) throws IOException {
        Path single = dir.resolve("single");
        assertEquals(0, Tessera.commandLine().execute(args(single).toArray(String[]::new)));
        Path multi = dir.resolve("multi");
        List<String> a = args(multi);
        a.add("--nproc");
        a.add("2");
        a.addAll(List.of(layout));
        assertEquals(0, Tessera.commandLine().execute(a.toArray(String[]::new)));
        assertTrue(Files.isDirectory(multi.resolve("checkpoints/step-00000003")), "checkpoint written");
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> x = Safetensors.load(single.resolve("model/model.safetensors"), m);
            Map<String, NDArray> y = Safetensors.load(multi.resolve("model/model.safetensors"), m);
            assertEquals(x.keySet(), y.keySet());
            for (String k : x.keySet()) {
                double diff = x.get(k).sub(y.get(k)).abs().max().getFloat();
                double scale = Math.max(x.get(k).abs().max().getFloat(), 1e-12);
                double bound = k.endsWith("attention.self.key.bias") ? 1e-3 / scale : 1e-4;
                assertTrue(diff / scale <= bound, k + " differs by " + diff / scale + " (relative)");
            }
        }
    }
}
