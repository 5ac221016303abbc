package io.tessera.train.distill.bilstm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.core.Torch;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.parallel.tensor.TpTesting;
import io.tessera.train.finetune.LabelSet;
import io.tessera.train.PythonReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The student's logits, loss and every parameter gradient on a batch of sentences of different
 * lengths equal those of {@code benchmarks/reference/bilstm_reference.py}: PyTorch's own
 * {@code nn.Embedding}, {@code nn.LSTM(bidirectional=True)} over a packed sequence, a max-pool over
 * each sentence's positions and the MLP, with the weights the student saved (within 1e-5 relative).
 * Skipped where {@code /usr/bin/python3} cannot import torch.
 */
class BiLstmReferenceTest {

    private static final String PYTHON = PythonReference.PYTHON;
    private static Path script;

    @BeforeAll
    static void findPythonAndScript() throws Exception {
        script = PythonReference.script("benchmarks/reference/bilstm_reference.py");
    }

    @ParameterizedTest
    @CsvSource({"true, 0.0", "true, 0.3", "false, 0.0"})
    void lossLogitsAndGradientsMatchTorchLstm(boolean distill, double alpha, @TempDir Path dir) throws Exception {
        int vocab = 23;
        int k = 3;
        BiLstmShape shape = new BiLstmShape(vocab, 5, 4, 6, LabelSet.of(List.of("a", "b", "c")));
        List<String> words = new ArrayList<>(WordVocabulary.SPECIAL);
        for (int i = words.size(); i < vocab; i++) {
            words.add("w" + i);
        }
        Random r = new Random(7);
        int[] lengths = {7, 1, 4, 7, 2};
        List<int[]> rows = new ArrayList<>();
        for (int len : lengths) {
            int[] s = new int[len];
            for (int t = 0; t < len; t++) {
                s[t] = 1 + r.nextInt(vocab - 1);
            }
            rows.add(s);
        }
        int[] gold = distill ? new int[] {2, DistillationLoss.NO_LABEL, 0, DistillationLoss.NO_LABEL, 1} : new int[] {2, 1, 0, 0, 1};
        float[] teacher = new float[rows.size() * k];
        for (int i = 0; i < teacher.length; i++) {
            teacher[i] = (float) r.nextGaussian() * 2;
        }
        float loss;
        float[] logits;
        Map<String, float[]> grads = new LinkedHashMap<>();
        Path saved = dir.resolve("student");
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false);
             BiLstmStudent student = BiLstmStudent.create(shape, WordVocabulary.of(words), 11, m, true)) {
            student.save(saved);
            try (Tape tape = new Tape(m, 0, true)) {
                Var z = student.model().logits(tape, WordBatch.of(rows));
                Var l = new DistillationLoss(alpha, distill).apply(tape, z, distill ? teacher : null, gold);
                tape.backward(l);
                loss = l.value().getFloat();
                logits = z.value().toFloatArray();
            }
            for (Map.Entry<String, Parameter> e : student.model().namedParameters().entrySet()) {
                grads.put(e.getKey(), e.getValue().grad().toFloatArray());
            }
        }
        JsonObject in = new JsonObject();
        JsonArray ids = new JsonArray();
        for (int[] s : rows) {
            JsonArray a = new JsonArray();
            for (int id : s) {
                a.add(id);
            }
            ids.add(a);
        }
        in.add("ids", ids);
        JsonArray t = new JsonArray();
        for (int b = 0; b < rows.size(); b++) {
            JsonArray a = new JsonArray();
            for (int c = 0; c < k; c++) {
                a.add(teacher[b * k + c]);
            }
            t.add(a);
        }
        in.add("teacher", t);
        JsonArray g = new JsonArray();
        for (int y : gold) {
            g.add(y);
        }
        in.add("gold", g);
        in.addProperty("alpha", alpha);
        in.addProperty("distill", distill);
        Files.writeString(dir.resolve("inputs.json"), in.toString(), StandardCharsets.UTF_8);

        Process p = new ProcessBuilder(PYTHON, script.toString(), saved.toString(), dir.resolve("inputs.json").toString())
                .redirectError(dir.resolve("stderr.txt").toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "reference did not finish");
        assertEquals(0, p.exitValue(), "reference failed: " + Files.readString(dir.resolve("stderr.txt")));
        JsonObject ref = JsonParser.parseString(out).getAsJsonObject();
        TpTesting.assertClose(new float[] {ref.get("loss").getAsFloat()}, new float[] {loss}, 1e-5, "loss vs PyTorch");
        float[] refLogits = new float[logits.length];
        JsonArray zr = ref.getAsJsonArray("logits");
        for (int b = 0; b < rows.size(); b++) {
            for (int c = 0; c < k; c++) {
                refLogits[b * k + c] = zr.get(b).getAsJsonArray().get(c).getAsFloat();
            }
        }
        TpTesting.assertClose(refLogits, logits, 1e-5, "logits vs PyTorch");
        Map<String, float[]> expected = new LinkedHashMap<>();
        JsonObject rg = ref.getAsJsonObject("grads");
        for (String name : rg.keySet()) {
            JsonArray a = rg.getAsJsonArray(name);
            float[] e = new float[a.size()];
            for (int i = 0; i < e.length; i++) {
                e[i] = a.get(i).getAsFloat();
            }
            expected.put(name, e);
        }
        TpTesting.assertGradientsClose(expected, grads, 1e-5, "distill " + distill + " alpha " + alpha);
    }
}
