package io.tessera.train.finetune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.core.Compute;
import io.tessera.core.Torch;
import io.tessera.core.nn.Parameter;
import io.tessera.models.HfTensor;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerModel;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.optim.OptimizerKind;
import io.tessera.optim.zero.Bucket;
import io.tessera.optim.zero.DataParallelOptimizer;
import io.tessera.optim.zero.ZeroStage;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.TpTesting;
import io.tessera.train.GlobalBatchStep;
import io.tessera.train.data.Batch;
import io.tessera.train.data.DistributedBatchSampler;
import io.tessera.train.PythonReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * One fine-tuning step, as {@link FineTuner} takes it (the pretrained directory loaded under a new
 * head, the task file tokenised and batched into trimmed micro-batches, {@link GlobalBatchStep}),
 * gives the loss and the gradient of every tensor that the independent plain-PyTorch implementation
 * of Hugging Face's {@code BertForSequenceClassification} / {@code DistilBertForTokenClassification}
 * in {@code benchmarks/reference/hf_reference.py} gives on the whole batch (within 1e-5). Skipped
 * where {@code /usr/bin/python3} cannot import torch.
 */
class FineTuneStepReferenceTest {

    private static final String PYTHON = PythonReference.PYTHON;
    private static Path script;

    @BeforeAll
    static void findPythonAndScript() throws Exception {
        script = PythonReference.script("benchmarks/reference/hf_reference.py");
    }

    @ParameterizedTest
    @CsvSource({"bert-tiny, SEQUENCE_CLASSIFICATION", "distilbert-tiny, TOKEN_CLASSIFICATION"})
    void oneStepsLossAndGradientsMatchPlainPyTorch(String preset, FineTuneTask task, @TempDir Path dir) throws Exception {
        Path pretrained = FineTuneFixture.pretrained(dir.resolve("pretrained"), preset);
        boolean seq = task == FineTuneTask.SEQUENCE_CLASSIFICATION;
        Path train = seq ? FineTuneFixture.sentiment(dir.resolve("train.tsv"), 8, 5) : FineTuneFixture.entities(dir.resolve("train.txt"), 8, 5);
        FineTuneConfig cfg = FineTuneConfig.builder().setModelDir(pretrained).setTask(task).setTrain(train).setDev(train)
                .setOut(dir.resolve("out")).optGlobalBatch(8).optMicroBatch(4).optMaxLength(16).optDropout(0.0).optSeed(9)
                .optOptimizer(OptimizerKind.ADAMW).build();
        ModelTokenizer tokenizer = ModelTokenizer.load(pretrained);
        TaskData data = TaskData.load(cfg, tokenizer.tokenizer());
        TransformerModel model = TransformerModel.of(FineTuner.taskConfig(pretrained, task, data.labels(), 0.0), ParallelContext.single());
        Path initial = dir.resolve("initial");
        float loss;
        Map<String, float[]> grads = new LinkedHashMap<>();
        try (NDManager nd = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false);
             DataParallelOptimizer dpo = ZeroStage.of(0).create(new DataParallelOptimizer.Spec(model, cfg.seed(),
                     ParallelContext.single(), cfg.optimizer().factory(cfg.weightDecay()), Bucket.DEFAULT_BYTES, nd))) {
            dpo.setParameters(() -> HfCheckpoint.load(model, pretrained));
            HfCheckpoint.save(model, initial); // the encoder as loaded, the head as initialised
            DistributedBatchSampler sampler = DistributedBatchSampler.builder().setDataset(data.train()).setGlobalBatchSize(8)
                    .setMicroBatchSize(4).build();
            List<TokenBatch> micro = new ArrayList<>();
            for (int m = 0; m < 2; m++) {
                micro.add(TaskBatches.of(nd, sampler.microBatch(sampler.position(0), m).trimmed(), task, true));
            }
            loss = (float) new GlobalBatchStep(model, dpo, Compute.ofProcess(), cfg.seed()).run(0, micro, nd).loss();
            for (HfTensor t : model.hfTensors()) {
                Parameter p = t.parameter();
                grads.put(t.name(), t.layout().toHf(p.grad()).toFloatArray());
            }
            Files.writeString(dir.resolve("inputs.json"), inputs(sampler.globalBatch(0, 0), seq), StandardCharsets.UTF_8);
        }

        Process p = new ProcessBuilder(PYTHON, script.toString(), initial.toString(), dir.resolve("inputs.json").toString(), "--grads")
                .redirectError(dir.resolve("stderr.txt").toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "reference did not finish");
        assertEquals(0, p.exitValue(), "reference failed: " + Files.readString(dir.resolve("stderr.txt")));
        JsonObject ref = JsonParser.parseString(out).getAsJsonObject();
        TpTesting.assertClose(new float[] {ref.get("loss").getAsFloat()}, new float[] {loss}, 1e-5, preset + " loss vs PyTorch");
        Map<String, float[]> expected = new LinkedHashMap<>();
        JsonObject refGrads = ref.getAsJsonObject("grads");
        for (String name : grads.keySet()) {
            assertTrue(refGrads.has(name), "the reference has no gradient for " + name + "; it has " + refGrads.keySet());
            JsonArray a = refGrads.getAsJsonArray(name);
            float[] g = new float[a.size()];
            for (int i = 0; i < g.length; i++) {
                g[i] = a.get(i).getAsFloat();
            }
            expected.put(name, g);
        }
        TpTesting.assertGradientsClose(expected, grads, 1e-5, preset + " " + task + " gradients vs PyTorch");
    }

    /** The global batch as the reference reads it (HF's names; a sequence classifier's labels as sequence_labels). */
    private static String inputs(Batch b, boolean seq) {
        JsonObject in = new JsonObject();
        in.add("input_ids", rows(b.inputIds(), b.batchSize(), b.seqLength()));
        in.add("attention_mask", rows(b.attentionMask(), b.batchSize(), b.seqLength()));
        if (seq) {
            JsonArray labels = new JsonArray();
            for (int l : b.sequenceLabels()) {
                labels.add(l);
            }
            in.add("sequence_labels", labels);
        } else {
            in.add("labels", rows(b.labels(), b.batchSize(), b.seqLength()));
        }
        return in.toString();
    }

    private static JsonElement rows(int[] flat, int rows, int cols) {
        JsonArray out = new JsonArray();
        for (int i = 0; i < rows; i++) {
            JsonArray row = new JsonArray();
            for (int j = 0; j < cols; j++) {
                row.add(flat[i * cols + j]);
            }
            out.add(row);
        }
        return out;
    }
}
