package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.models.HeadTesting.Head;
import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.checkpoint.LoadReport;
import io.tessera.models.config.HeadConfig;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.heads.ClassifierModel;
import io.tessera.models.heads.SequenceClassifier;
import io.tessera.models.heads.TokenClassifier;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.TpTesting;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Task-head directories: a classifier saved at degree 2 reloads at degree 1 with its config and the
 * same logits; a pre-training checkpoint loads into a classifier keeping the encoder and reporting the
 * new head, and a classifier's into the pre-training model; a classifier with another label count is
 * refused.
 */
class TaskHeadCheckpointTest {

    @ParameterizedTest
    @MethodSource("io.tessera.models.HeadTesting#cases")
    void classifierRoundTripsAcrossDegrees(Kind kind, Head head, @TempDir Path dir) throws IOException {
        TransformerConfig config = HeadTesting.config(kind, head);
        float[] saved = TpTesting.run(2, pc -> {
            TransformerModel m = TransformerModel.of(config, pc);
            try (NDManager nd = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(m, 3, nd)) {
                ModelTesting.perturb(m, nd, 0.15f);
                HfCheckpoint.save(m, dir);
                return logits((ClassifierModel) m, nd, kind, head);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }).get(0);
        TransformerConfig read = HfConfigJson.read(dir);
        assertEquals(config, read);
        TransformerModel copy = TransformerModel.of(read, ParallelContext.single());
        assertEquals(head == Head.TOKEN ? TokenClassifier.class : SequenceClassifier.class, copy.getClass());
        try (NDManager nd = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(copy, 4, nd)) {
            LoadReport report = HfCheckpoint.load(copy, dir);
            assertTrue(report.complete(), report.toString());
            TpTesting.assertClose(saved, logits((ClassifierModel) copy, nd, kind, head), 1e-5, kind + " " + head + " reloaded");
        }
    }

    @Test
    void pretrainingCheckpointIntoSequenceClassifierKeepsTheEncoder(@TempDir Path dir) throws IOException {
        TransformerConfig pretraining = Kind.BERT.config();
        Map<String, float[]> encoder = saveAndRead(pretraining, dir, "bert.");
        TransformerConfig cls = pretraining.toBuilder().optHead(Head.SEQUENCE.config()).build();
        LoadReport report = loadAndCompare(cls, dir, encoder);
        assertEquals(List.of("classifier.weight", "classifier.bias"), report.initialised());
        assertEquals(new TreeSet<>(List.of("cls.predictions.bias", "cls.predictions.transform.LayerNorm.bias",
                "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.dense.bias",
                "cls.predictions.transform.dense.weight", "cls.seq_relationship.bias", "cls.seq_relationship.weight")),
                new TreeSet<>(report.unused()));
    }

    @Test
    void robertaMaskedLmIntoSequenceClassifier(@TempDir Path dir) throws IOException {
        TransformerConfig pretraining = Kind.ROBERTA.config();
        Map<String, float[]> encoder = saveAndRead(pretraining, dir, "roberta.");
        LoadReport report = loadAndCompare(pretraining.toBuilder().optHead(Head.SEQUENCE.config()).build(), dir, encoder);
        assertEquals(List.of("classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight",
                "classifier.out_proj.bias"), report.initialised());
        assertTrue(report.unused().stream().allMatch(n -> n.startsWith("lm_head.")), report.unused().toString());
    }

    @Test
    void tokenClassifierIntoPretrainingModelInitialisesPoolerAndHeads(@TempDir Path dir) throws IOException {
        TransformerConfig token = Kind.BERT.config().toBuilder().optHead(Head.TOKEN.config()).build();
        Map<String, float[]> encoder = saveAndRead(token, dir, "bert.");
        LoadReport report = loadAndCompare(Kind.BERT.config(), dir, encoder);
        assertTrue(report.initialised().contains("bert.pooler.dense.weight"), report.toString());
        assertTrue(report.initialised().contains("cls.seq_relationship.weight"), report.toString());
        assertEquals(List.of("classifier.bias", "classifier.weight"), new ArrayList<>(new TreeSet<>(report.unused())));
    }

    @Test
    void anotherLabelCountIsRefused(@TempDir Path dir) throws IOException {
        saveAndRead(HeadTesting.config(Kind.DISTILBERT, Head.SEQUENCE), dir, "distilbert.");
        TransformerConfig two = Kind.DISTILBERT.config().toBuilder()
                .optHead(HeadConfig.sequenceClassification(List.of("a", "b"))).build();
        TransformerModel m = TransformerModel.of(two, ParallelContext.single());
        try (NDManager nd = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(m, 1, nd)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfCheckpoint.load(m, dir));
            assertTrue(e.getMessage().contains("numLabels 3 in the checkpoint vs 2 in the model"), e.getMessage());
        }
    }

    private static float[] logits(ClassifierModel m, NDManager nd, Kind kind, Head head) {
        try (Tape tape = new Tape(nd, 1, false)) {
            return m.logits(tape, HeadTesting.batch(kind, head, nd)).value().toFloatArray();
        }
    }

    /** Saves a perturbed model at degree 1 and returns its tensors under {@code prefix}. */
    private static Map<String, float[]> saveAndRead(TransformerConfig config, Path dir, String prefix) throws IOException {
        TransformerModel m = TransformerModel.of(config, ParallelContext.single());
        try (NDManager nd = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(m, 11, nd)) {
            ModelTesting.perturb(m, nd, 0.15f);
            HfCheckpoint.save(m, dir);
            return tensors(m, prefix);
        }
    }

    /** Loads into a model of {@code config} and checks that the tensors named in {@code expected} match. */
    private static LoadReport loadAndCompare(TransformerConfig config, Path dir, Map<String, float[]> expected)
            throws IOException {
        TransformerModel m = TransformerModel.of(config, ParallelContext.single());
        try (NDManager nd = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(m, 12, nd)) {
            LoadReport report = HfCheckpoint.load(m, dir);
            Map<String, float[]> got = tensors(m, "");
            int shared = 0;
            for (Map.Entry<String, float[]> e : expected.entrySet()) {
                if (got.containsKey(e.getKey())) {
                    assertArrayEquals(e.getValue(), got.get(e.getKey()), e.getKey());
                    shared++;
                } else {
                    assertTrue(report.unused().contains(e.getKey()), e.getKey() + " neither loaded nor reported unused");
                }
            }
            assertTrue(shared > 10, "only " + shared + " encoder tensors compared");
            return report;
        }
    }

    private static Map<String, float[]> tensors(TransformerModel m, String prefix) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (HfTensor t : m.hfTensors()) {
            if (t.name().startsWith(prefix)) {
                out.put(t.name(), t.layout().toHf(t.parameter().data()).toFloatArray());
            }
        }
        return out;
    }
}
