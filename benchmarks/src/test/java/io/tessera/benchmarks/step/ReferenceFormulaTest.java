package io.tessera.benchmarks.step;

import io.tessera.models.config.Architecture;
import io.tessera.models.flops.ModelShape;
import io.tessera.models.flops.TransformerFlops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The PyTorch reference counts FLOPs with the same formula: {@code bert_step.py --flops-only} (which does
 * not import torch) against {@link TransformerFlops}. Skipped where no {@code python3} exists.
 */
class ReferenceFormulaTest {

    @Test
    void bertStepScriptCountsLikeJava() throws Exception {
        Path python = Path.of("/usr/bin/python3");
        Path script = Path.of("reference", "bert_step.py");
        assumeTrue(Files.isExecutable(python), "no /usr/bin/python3 on this machine");
        assumeTrue(Files.exists(script), "run from the benchmarks module directory");
        Process p = new ProcessBuilder(python.toString(), script.toString(), "--flops-only", "--hidden", "96", "--layers", "3",
                "--heads", "4", "--ffn", "200", "--seq", "40", "--vocab", "1234", "--batch", "5").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(true, p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        JsonObject j = JsonParser.parseString(out.substring(out.lastIndexOf('\n') + 1)).getAsJsonObject();
        ModelShape s = new ModelShape(Architecture.BERT, 96, 3, 4, 200, 40, 1234, 5, 40);
        assertEquals(TransformerFlops.trainingStep(s), j.get("flops_per_step").getAsDouble());
        assertEquals(200, j.get("tokens_per_step").getAsInt());
    }
}
