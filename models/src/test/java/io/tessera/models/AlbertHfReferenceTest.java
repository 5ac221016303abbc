package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.models.ModelTesting.Result;
import io.tessera.models.albert.AlbertForPreTraining;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.tensor.TpTesting;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tessera's ALBERT loss and logits at tensor-parallel degree 2 equal those of the independent
 * plain-PyTorch {@code AlbertForPreTraining} in {@code benchmarks/reference/hf_reference.py}, run on the
 * checkpoint Tessera exports (2 groups of 2 shared layers, E = 16 ≠ H = 32). Skipped, with a message,
 * where {@code /usr/bin/python3} cannot import torch.
 */
class AlbertHfReferenceTest {

    @BeforeAll
    static void findPythonAndScript() throws Exception {
        HfReferenceTest.findPythonAndScript();
    }

    @Test
    void lossAndLogitsMatchPlainPyTorch(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("model");
        TransformerConfig config = AlbertTesting.config();
        Result tessera = TpTesting.run(2, pc -> {
            AlbertForPreTraining m = new AlbertForPreTraining(config, pc);
            try (NDManager nd = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(m, 7, nd)) {
                ModelTesting.perturb(m, nd, 0.15f);
                HfCheckpoint.save(m, model);
                TokenBatch batch = AlbertTesting.batch(nd);
                if (pc.rank() == 0) {
                    JsonObject inputs = JsonParser.parseString(HfReferenceTest.inputsJson(batch)).getAsJsonObject();
                    inputs.add("sentence_order_label", inputs.remove("next_sentence_label"));
                    Files.writeString(dir.resolve("inputs.json"), inputs.toString(), StandardCharsets.UTF_8);
                }
                return AlbertTesting.step(m, pc, nd, batch);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }).get(0);

        Process p = new ProcessBuilder(HfReferenceTest.PYTHON, HfReferenceTest.script.toString(), model.toString(),
                dir.resolve("inputs.json").toString()).redirectError(dir.resolve("stderr.txt").toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "reference did not finish");
        assertEquals(0, p.exitValue(), "reference failed: " + Files.readString(dir.resolve("stderr.txt")));
        JsonObject ref = JsonParser.parseString(out).getAsJsonObject();
        assertEquals("albert", ref.get("model_type").getAsString());
        assertTrue(ref.get("sop_loss").getAsFloat() > 0, "the reference scored the sentence-order labels");
        float loss = ref.get("loss").getAsFloat();
        TpTesting.assertClose(new float[] {loss}, new float[] {tessera.loss()}, 1e-5, "ALBERT loss vs PyTorch");
        TpTesting.assertClose(flatten(ref.get("logits")), tessera.logits(), 1e-5, "ALBERT logits vs PyTorch");
        System.out.printf("ALBERT: Tessera loss %.7f, PyTorch %s loss %.7f%n", tessera.loss(),
                ref.get("torch_version").getAsString(), loss);
    }

    private static float[] flatten(JsonElement e) {
        JsonArray flat = new JsonArray();
        collect(e, flat);
        float[] out = new float[flat.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = flat.get(i).getAsFloat();
        }
        return out;
    }

    private static void collect(JsonElement e, JsonArray out) {
        if (e.isJsonArray()) {
            e.getAsJsonArray().forEach(x -> collect(x, out));
        } else {
            out.add(e);
        }
    }
}
