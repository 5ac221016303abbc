package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.models.HeadTesting.Head;
import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.ModelTesting.Result;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.heads.ClassifierModel;
import io.tessera.parallel.tensor.TpTesting;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The task heads' loss and logits at tensor-parallel degree 2 equal those of the independent
 * plain-PyTorch implementation of Hugging Face's {@code …ForSequenceClassification} (cross-entropy, and
 * MSE for one label) and {@code …ForTokenClassification} in {@code benchmarks/reference/hf_reference.py},
 * run on the directory Tessera exports. Skipped where {@code /usr/bin/python3} cannot import torch.
 */
class TaskHeadReferenceTest {

    @BeforeAll
    static void findPythonAndScript() throws Exception {
        HfReferenceTest.findPythonAndScript();
    }

    @ParameterizedTest
    @MethodSource("io.tessera.models.HeadTesting#cases")
    void lossAndLogitsMatchPlainPyTorch(Kind kind, Head head, @TempDir Path dir) throws Exception {
        Path model = dir.resolve("model");
        Result tessera = TpTesting.run(2, pc -> {
            TransformerModel m = TransformerModel.of(HeadTesting.config(kind, head), pc);
            try (NDManager nd = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(m, 7, nd)) {
                ModelTesting.perturb(m, nd, 0.15f);
                HfCheckpoint.save(m, model);
                TokenBatch batch = HeadTesting.batch(kind, head, nd);
                if (pc.rank() == 0) {
                    JsonObject in = JsonParser.parseString(HfReferenceTest.inputsJson(batch)).getAsJsonObject();
                    if (batch.sequenceLabels() != null) {
                        JsonArray labels = new JsonArray();
                        for (float v : batch.sequenceLabels().toType(DataType.FLOAT32, false).toFloatArray()) {
                            labels.add(v);
                        }
                        in.add("sequence_labels", labels);
                    }
                    Files.writeString(dir.resolve("inputs.json"), in.toString(), StandardCharsets.UTF_8);
                }
                return HeadTesting.step((ClassifierModel) m, pc, nd, batch);
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
        float loss = ref.get("loss").getAsFloat();
        float[] logits = HfReferenceTest.flatten(ref.get("logits"));
        TpTesting.assertClose(new float[] {loss}, new float[] {tessera.loss()}, 1e-5, kind + " " + head + " loss vs PyTorch");
        TpTesting.assertClose(logits, tessera.logits(), 1e-5, kind + " " + head + " logits vs PyTorch");
        double maxDiff = 0;
        for (int i = 0; i < logits.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(logits[i] - tessera.logits()[i]));
        }
        System.out.printf("%s %s: Tessera loss %.7f, PyTorch loss %.7f, max |logit diff| %.2e%n", kind, head,
                tessera.loss(), loss, maxDiff);
    }
}
