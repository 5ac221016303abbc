package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.ModelTesting.Result;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.parallel.tensor.TpTesting;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Tessera's loss and logits at tensor-parallel degree 2 equal those of an independent plain-PyTorch
 * implementation of Hugging Face's BertForPreTraining, MegatronBertForPreTraining, GPT2LMHeadModel,
 * RobertaForMaskedLM and DistilBertForMaskedLM
 * ({@code benchmarks/reference/hf_reference.py}), run on the checkpoint Tessera exports. Skipped, with
 * a message, where {@code /usr/bin/python3} cannot import torch.
 */
class HfReferenceTest {

    static final String PYTHON = "/usr/bin/python3";
    static Path script;

    @BeforeAll
    static void findPythonAndScript() throws Exception {
        boolean torch = false;
        if (Files.isExecutable(Path.of(PYTHON))) {
            Process p = new ProcessBuilder(PYTHON, "-c", "import torch").redirectErrorStream(true).start();
            torch = p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        }
        assumeTrue(torch, "skipped: " + PYTHON + " cannot import torch (apt-get install python3-torch libopenblas0-pthread)");
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path candidate = d.resolve("benchmarks/reference/hf_reference.py");
            if (Files.isRegularFile(candidate)) {
                script = candidate;
                break;
            }
        }
        assumeTrue(script != null, "skipped: benchmarks/reference/hf_reference.py not found above " + Path.of("").toAbsolutePath());
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = "ALBERT", mode = EnumSource.Mode.EXCLUDE)
    void lossAndLogitsMatchPlainPyTorch(Kind kind, @TempDir Path dir) throws Exception {
        Path model = dir.resolve("model");
        Result tessera = TpTesting.run(2, pc -> {
            TransformerModel m = kind.model(kind.config(), pc);
            try (NDManager nd = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(m, 7, nd)) {
                ModelTesting.perturb(m, nd, 0.15f);
                HfCheckpoint.save(m, model);
                TokenBatch batch = kind.batch(nd);
                if (pc.rank() == 0) {
                    Files.writeString(dir.resolve("inputs.json"), inputsJson(batch), StandardCharsets.UTF_8);
                }
                return ModelTesting.step(m, pc, nd, batch);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }).get(0);

        Process p = new ProcessBuilder(PYTHON, script.toString(), model.toString(), dir.resolve("inputs.json").toString())
                .redirectError(dir.resolve("stderr.txt").toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "reference did not finish");
        assertEquals(0, p.exitValue(), "reference failed: " + Files.readString(dir.resolve("stderr.txt")));
        JsonObject ref = JsonParser.parseString(out).getAsJsonObject();
        float loss = ref.get("loss").getAsFloat();
        TpTesting.assertClose(new float[] {loss}, new float[] {tessera.loss()}, 1e-5, kind + " loss vs PyTorch");
        TpTesting.assertClose(flatten(ref.get("logits")), tessera.logits(), 1e-5, kind + " logits vs PyTorch");
        System.out.printf("%s: Tessera loss %.7f, PyTorch %s loss %.7f%n", kind, tessera.loss(),
                ref.get("torch_version").getAsString(), loss);
    }

    static String inputsJson(TokenBatch b) {
        JsonObject o = new JsonObject();
        o.add("input_ids", rows(b.inputIds()));
        o.add("attention_mask", rows(b.attentionMask()));
        o.add("token_type_ids", rows(b.tokenTypeIds()));
        o.add("labels", rows(b.labels()));
        if (b.nextSentenceLabels() != null) {
            JsonArray nsp = new JsonArray();
            for (long v : b.nextSentenceLabels().toLongArray()) {
                nsp.add(v);
            }
            o.add("next_sentence_label", nsp);
        }
        return o.toString();
    }

    private static JsonElement rows(NDArray a) {
        if (a == null) {
            return JsonNull.INSTANCE;
        }
        long[] v = a.toLongArray();
        int t = (int) a.getShape().get(1);
        JsonArray out = new JsonArray();
        for (int i = 0; i < v.length; i += t) {
            JsonArray row = new JsonArray();
            for (int j = 0; j < t; j++) {
                row.add(v[i + j]);
            }
            out.add(row);
        }
        return out;
    }

    static float[] flatten(JsonElement e) {
        List<Float> values = new ArrayList<>();
        collect(e, values);
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i);
        }
        return out;
    }

    private static void collect(JsonElement e, List<Float> out) {
        if (e.isJsonArray()) {
            for (JsonElement x : e.getAsJsonArray()) {
                collect(x, out);
            }
        } else {
            out.add(e.getAsFloat());
        }
    }
}
