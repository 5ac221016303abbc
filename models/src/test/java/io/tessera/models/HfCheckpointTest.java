package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.io.Safetensors;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.ModelTesting.Result;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.launch.LocalCluster;
import io.tessera.parallel.tensor.TpTesting;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A Hugging Face model directory written at one tensor-parallel degree loads at any other and gives the
 * same loss; the file holds exactly Hugging Face's names and shapes (vocabulary padding stripped, tied
 * weights not repeated, GPT-2's c_attn in [q|k|v] order) and does not depend on the degree it was
 * written from.
 */
class HfCheckpointTest {

    /** Saves a perturbed model at {@code degree} into {@code dir}; returns rank 0's step result. */
    static Result save(Kind kind, int degree, Path dir) {
        return TpTesting.run(degree, pc -> {
            TransformerModel model = kind.model(kind.config(), pc);
            try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(model, 5, m)) {
                ModelTesting.perturb(model, m, 0.15f);
                HfCheckpoint.save(model, dir);
                return ModelTesting.step(model, pc, m, kind.batch(m));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }).get(0);
    }

    /** Loads {@code dir} into a model built at {@code degree} from another seed; returns rank 0's step result. */
    static Result load(Kind kind, int degree, Path dir) {
        return TpTesting.run(degree, pc -> {
            try {
                TransformerConfig config = HfConfigJson.read(dir);
                TransformerModel model = kind.model(config, pc);
                try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(model, 99, m)) {
                    HfCheckpoint.load(model, dir);
                    return ModelTesting.step(model, pc, m, kind.batch(m));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }).get(0);
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = "ALBERT", mode = EnumSource.Mode.EXCLUDE)
    void roundTripAcrossDegrees(Kind kind, @TempDir Path dir) {
        Result saved = save(kind, 2, dir);
        for (int degree : new int[] {1, 4}) {
            Result loaded = load(kind, degree, dir);
            TpTesting.assertClose(new float[] {saved.loss()}, new float[] {loaded.loss()}, 1e-5,
                    kind + " loss after loading at degree " + degree);
            TpTesting.assertGradientsClose(saved.grads(), loaded.grads(), 1e-4, kind + " loaded at degree " + degree);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"BERT", "GPT2", "ROBERTA", "DISTILBERT"})
    void fileHoldsHuggingFaceNamesAndDoesNotDependOnTheDegree(Kind kind, @TempDir Path dir) throws IOException {
        save(kind, 1, dir.resolve("tp1"));
        save(kind, 4, dir.resolve("tp4"));
        assertArrayEquals(Files.readAllBytes(dir.resolve("tp1").resolve(HfCheckpoint.WEIGHTS_FILE)),
                Files.readAllBytes(dir.resolve("tp4").resolve(HfCheckpoint.WEIGHTS_FILE)),
                "the same model saved from degrees 1 and 4 must give the same file");
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = Safetensors.load(dir.resolve("tp4").resolve(HfCheckpoint.WEIGHTS_FILE), m);
            Map<String, Shape> shapes = new LinkedHashMap<>();
            tensors.forEach((k, v) -> shapes.put(k, v.getShape()));
            assertEquals(expectedShapes(kind, kind.config()), shapes);
        }
        assertEquals(kind.config(), HfConfigJson.read(dir.resolve("tp4")));
    }

    /** Hugging Face's state dict of the tiny models, tied copies left out as save_pretrained does. */
    static Map<String, Shape> expectedShapes(Kind kind, TransformerConfig c) {
        int v = c.vocabSize();
        int h = c.hiddenSize();
        int i = c.intermediateSize();
        Map<String, Shape> s = new LinkedHashMap<>();
        if (kind == Kind.GPT2) {
            s.put("transformer.wte.weight", new Shape(v, h));
            s.put("transformer.wpe.weight", new Shape(c.maxPositions(), h));
            for (int l = 0; l < c.numLayers(); l++) {
                String p = "transformer.h." + l + ".";
                s.put(p + "ln_1.weight", new Shape(h));
                s.put(p + "ln_1.bias", new Shape(h));
                s.put(p + "attn.c_attn.weight", new Shape(h, 3 * h));
                s.put(p + "attn.c_attn.bias", new Shape(3 * h));
                s.put(p + "attn.c_proj.weight", new Shape(h, h));
                s.put(p + "attn.c_proj.bias", new Shape(h));
                s.put(p + "ln_2.weight", new Shape(h));
                s.put(p + "ln_2.bias", new Shape(h));
                s.put(p + "mlp.c_fc.weight", new Shape(h, i));
                s.put(p + "mlp.c_fc.bias", new Shape(i));
                s.put(p + "mlp.c_proj.weight", new Shape(i, h));
                s.put(p + "mlp.c_proj.bias", new Shape(h));
            }
            s.put("transformer.ln_f.weight", new Shape(h));
            s.put("transformer.ln_f.bias", new Shape(h));
            return s;
        }
        if (kind == Kind.DISTILBERT) {
            return distilBertShapes(c);
        }
        String base = kind == Kind.ROBERTA ? "roberta." : "bert.";
        s.put(base + "embeddings.word_embeddings.weight", new Shape(v, h));
        s.put(base + "embeddings.position_embeddings.weight", new Shape(c.maxPositions(), h));
        s.put(base + "embeddings.token_type_embeddings.weight", new Shape(c.typeVocabSize(), h));
        s.put(base + "embeddings.LayerNorm.weight", new Shape(h));
        s.put(base + "embeddings.LayerNorm.bias", new Shape(h));
        for (int l = 0; l < c.numLayers(); l++) {
            String p = base + "encoder.layer." + l + ".";
            for (String n : List.of("query", "key", "value")) {
                s.put(p + "attention.self." + n + ".weight", new Shape(h, h));
                s.put(p + "attention.self." + n + ".bias", new Shape(h));
            }
            s.put(p + "attention.output.dense.weight", new Shape(h, h));
            s.put(p + "attention.output.dense.bias", new Shape(h));
            s.put(p + "attention.output.LayerNorm.weight", new Shape(h));
            s.put(p + "attention.output.LayerNorm.bias", new Shape(h));
            s.put(p + "intermediate.dense.weight", new Shape(i, h));
            s.put(p + "intermediate.dense.bias", new Shape(i));
            s.put(p + "output.dense.weight", new Shape(h, i));
            s.put(p + "output.dense.bias", new Shape(h));
            s.put(p + "output.LayerNorm.weight", new Shape(h));
            s.put(p + "output.LayerNorm.bias", new Shape(h));
        }
        if (kind == Kind.ROBERTA) {
            s.put("lm_head.bias", new Shape(v));
            s.put("lm_head.dense.weight", new Shape(h, h));
            s.put("lm_head.dense.bias", new Shape(h));
            s.put("lm_head.layer_norm.weight", new Shape(h));
            s.put("lm_head.layer_norm.bias", new Shape(h));
            return s;
        }
        s.put("bert.pooler.dense.weight", new Shape(h, h));
        s.put("bert.pooler.dense.bias", new Shape(h));
        s.put("cls.predictions.bias", new Shape(v));
        s.put("cls.predictions.transform.dense.weight", new Shape(h, h));
        s.put("cls.predictions.transform.dense.bias", new Shape(h));
        s.put("cls.predictions.transform.LayerNorm.weight", new Shape(h));
        s.put("cls.predictions.transform.LayerNorm.bias", new Shape(h));
        s.put("cls.seq_relationship.weight", new Shape(2, h));
        s.put("cls.seq_relationship.bias", new Shape(2));
        return s;
    }

    /** DistilBertForMaskedLM's state dict, {@code vocab_projector.weight} (tied) left out. */
    private static Map<String, Shape> distilBertShapes(TransformerConfig c) {
        int v = c.vocabSize();
        int h = c.hiddenSize();
        int i = c.intermediateSize();
        Map<String, Shape> s = new LinkedHashMap<>();
        s.put("distilbert.embeddings.word_embeddings.weight", new Shape(v, h));
        s.put("distilbert.embeddings.position_embeddings.weight", new Shape(c.maxPositions(), h));
        s.put("distilbert.embeddings.LayerNorm.weight", new Shape(h));
        s.put("distilbert.embeddings.LayerNorm.bias", new Shape(h));
        for (int l = 0; l < c.numLayers(); l++) {
            String p = "distilbert.transformer.layer." + l + ".";
            for (String n : List.of("q_lin", "k_lin", "v_lin", "out_lin")) {
                s.put(p + "attention." + n + ".weight", new Shape(h, h));
                s.put(p + "attention." + n + ".bias", new Shape(h));
            }
            s.put(p + "sa_layer_norm.weight", new Shape(h));
            s.put(p + "sa_layer_norm.bias", new Shape(h));
            s.put(p + "ffn.lin1.weight", new Shape(i, h));
            s.put(p + "ffn.lin1.bias", new Shape(i));
            s.put(p + "ffn.lin2.weight", new Shape(h, i));
            s.put(p + "ffn.lin2.bias", new Shape(h));
            s.put(p + "output_layer_norm.weight", new Shape(h));
            s.put(p + "output_layer_norm.bias", new Shape(h));
        }
        s.put("vocab_transform.weight", new Shape(h, h));
        s.put("vocab_transform.bias", new Shape(h));
        s.put("vocab_layer_norm.weight", new Shape(h));
        s.put("vocab_layer_norm.bias", new Shape(h));
        s.put("vocab_projector.bias", new Shape(v));
        return s;
    }

    /**
     * Tied copies, buffers and (RoBERTa) the pooler that {@code RobertaForMaskedLM} ignores are accepted;
     * a missing tensor and one the model does not have are named.
     */
    @ParameterizedTest
    @EnumSource(value = Kind.class, names = {"ROBERTA", "DISTILBERT"})
    void encoderCheckpointsAcceptTiedCopiesAndNameMismatches(Kind kind, @TempDir Path dir) throws IOException {
        Result saved = save(kind, 2, dir);
        Path weights = dir.resolve(HfCheckpoint.WEIGHTS_FILE);
        boolean roberta = kind == Kind.ROBERTA;
        String bias = roberta ? "lm_head.bias" : "vocab_projector.bias";
        String prefix = roberta ? "roberta." : "distilbert.";
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = new LinkedHashMap<>(Safetensors.load(weights, m));
            NDArray words = tensors.get(prefix + "embeddings.word_embeddings.weight");
            int h = kind.config().hiddenSize();
            tensors.put(roberta ? "lm_head.decoder.weight" : "vocab_projector.weight", words);
            tensors.put(prefix + "embeddings.position_ids", m.arange(kind.config().maxPositions()).reshape(1, -1));
            if (roberta) {
                tensors.put("lm_head.decoder.bias", tensors.get(bias));
                tensors.put("roberta.pooler.dense.weight", m.zeros(new Shape(h, h)));
                tensors.put("roberta.pooler.dense.bias", m.zeros(new Shape(h)));
            }
            Safetensors.save(tensors, weights);
            Result loaded = load(kind, 1, dir);
            TpTesting.assertClose(new float[] {saved.loss()}, new float[] {loaded.loss()}, 1e-5, kind + " with tied copies");

            tensors.remove(bias);
            tensors.put(prefix + "encoder.layer.0.extra.weight", m.zeros(new Shape(h)));
            Safetensors.save(tensors, weights);
        }
        RuntimeException e = assertThrows(RuntimeException.class, () -> load(kind, 1, dir));
        assertTrue(e.getMessage().contains("missing tensors: [" + bias + "]")
                && e.getMessage().contains(prefix + "encoder.layer.0.extra.weight"), e.getMessage());
    }

    @Test
    void savingWithDataParallelReplicasWritesOnceAndEveryRankReturns(@TempDir Path dir) throws IOException {
        Kind kind = Kind.GPT2;
        List<Float> losses = LocalCluster.of(ParallelLayout.of(4, 2, 1)).withTimeout(Duration.ofSeconds(120)).run(pc -> {
            TransformerModel model = kind.model(kind.config(), pc);
            try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(model, 5, m)) {
                ModelTesting.perturb(model, m, 0.15f);
                HfCheckpoint.save(model, dir);
                assertTrue(Files.isRegularFile(dir.resolve(HfCheckpoint.WEIGHTS_FILE)), "rank " + pc.rank() + " returned early");
                return ModelTesting.step(model, pc, m, kind.batch(m)).loss();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        Result loaded = load(kind, 1, dir);
        for (float loss : losses) {
            TpTesting.assertClose(new float[] {loss}, new float[] {loaded.loss()}, 1e-5, "loss after a tp 2 × dp 2 save");
        }
        try (var files = Files.list(dir)) {
            assertEquals(List.of(HfConfigJson.FILE_NAME, HfCheckpoint.WEIGHTS_FILE),
                    files.map(f -> f.getFileName().toString()).sorted().toList(), "no temporary files are left");
        }
    }

    @Test
    void megatronBertUsesMegatronBertNames() {
        List<String> names = TpTesting.run(1, pc -> new ArrayList<>(Kind.MEGATRON_BERT.model(Kind.MEGATRON_BERT.config(), pc)
                .namedParameters().keySet())).get(0);
        assertTrue(names.contains("bert.encoder.layer.0.attention.ln.weight"), names.toString());
        assertTrue(names.contains("bert.encoder.layer.1.ln.bias"), names.toString());
        assertTrue(names.contains("bert.encoder.ln.weight"), names.toString());
        assertTrue(names.stream().noneMatch(n -> n.contains("LayerNorm") && !n.startsWith("cls.")), names.toString());
    }

    @Test
    void checkpointsWithoutTheBasePrefixLoadAndMismatchesAreNamed(@TempDir Path dir) throws IOException {
        Result saved = save(Kind.GPT2, 1, dir.resolve("full"));
        Path bare = dir.resolve("bare");
        Files.createDirectories(bare);
        Files.copy(dir.resolve("full").resolve(HfConfigJson.FILE_NAME), bare.resolve(HfConfigJson.FILE_NAME));
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> tensors = Safetensors.load(dir.resolve("full").resolve(HfCheckpoint.WEIGHTS_FILE), m);
            Map<String, NDArray> renamed = new LinkedHashMap<>();
            tensors.forEach((k, v) -> renamed.put(k.substring("transformer.".length()), v));
            renamed.put("lm_head.weight", tensors.get("transformer.wte.weight"));
            Safetensors.save(renamed, bare.resolve(HfCheckpoint.WEIGHTS_FILE));
            Result loaded = load(Kind.GPT2, 2, bare);
            TpTesting.assertClose(new float[] {saved.loss()}, new float[] {loaded.loss()}, 1e-5, "prefix-less checkpoint");

            renamed.remove("ln_f.bias");
            renamed.put("h.0.attn.extra", tensors.get("transformer.ln_f.bias"));
            Safetensors.save(renamed, bare.resolve(HfCheckpoint.WEIGHTS_FILE));
        }
        RuntimeException e = assertThrows(RuntimeException.class, () -> load(Kind.GPT2, 1, bare));
        assertTrue(e.getMessage().contains("missing tensors: [transformer.ln_f.bias]")
                && e.getMessage().contains("h.0.attn.extra"), e.getMessage());

        TransformerConfig other = Kind.GPT2.config().toBuilder().setNumLayers(3).build();
        HfConfigJson.write(other, bare);
        RuntimeException c = assertThrows(RuntimeException.class, () -> TpTesting.run(1, pc -> {
            TransformerModel model = Kind.GPT2.model(Kind.GPT2.config(), pc);
            try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(model, 1, m)) {
                HfCheckpoint.load(model, bare);
                return 0;
            } catch (IOException io) {
                throw new UncheckedIOException(io);
            }
        }));
        assertTrue(c.getMessage().contains("numLayers 3 in the checkpoint vs 2 in the model"), c.getMessage());
    }
}
