package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.models.albert.AlbertForPreTraining;
import io.tessera.models.bert.BertForPreTraining;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.TpTesting;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * ALBERT's model-level contract: the family factory builds it, a shape that does not split fails before
 * allocation, the loss terms are {@code mlm} and {@code sop}, and bad sentence-order labels are named.
 */
class AlbertModelTest {

    @Test
    void factoryBuildsAlbertWithHuggingFaceNames() {
        TransformerModel m = TransformerModel.of(AlbertTesting.config(), ParallelContext.single());
        assertTrue(m instanceof AlbertForPreTraining, m.getClass().getName());
        Map<String, ?> names = m.namedParameters();
        for (String n : List.of("albert.embeddings.word_embeddings.weight", "albert.embeddings.LayerNorm.weight",
                "albert.encoder.embedding_hidden_mapping_in.weight",
                "albert.encoder.albert_layer_groups.1.albert_layers.1.attention.query.weight",
                "albert.encoder.albert_layer_groups.0.albert_layers.0.attention.dense.bias",
                "albert.encoder.albert_layer_groups.0.albert_layers.0.attention.LayerNorm.weight",
                "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight",
                "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn_output.weight",
                "albert.encoder.albert_layer_groups.0.albert_layers.0.full_layer_layer_norm.bias",
                "albert.pooler.weight", "predictions.bias", "predictions.dense.weight", "predictions.LayerNorm.weight",
                "sop_classifier.classifier.weight")) {
            assertTrue(names.containsKey(n), "missing " + n + " in " + names.keySet());
        }
        assertEquals(5 + 2 + 2 * 2 * 16 + 2 + 5 + 2, names.size(), "embeddings, mapping, 4 layers, pooler, heads");
        assertTrue(m.isTiedOrBuffer("predictions.decoder.weight") && m.isTiedOrBuffer("predictions.decoder.bias"));
    }

    @Test
    void shapesThatDoNotSplitFailBeforeAllocation() {
        TransformerConfig config = AlbertTesting.config();
        List<String> messages = TpTesting.run(3, pc ->
                assertThrows(IllegalArgumentException.class, () -> new AlbertForPreTraining(config, pc)).getMessage());
        for (String m : messages) {
            assertTrue(m.contains("numHeads = 4 is not divisible by tensorParallel = 3") && m.contains("[1, 2, 4]"), m);
        }
        String family = assertThrows(IllegalArgumentException.class,
                () -> new BertForPreTraining(config, ParallelContext.single())).getMessage();
        assertTrue(family.contains("builds BERT models, got a ALBERT configuration"), family);
    }

    @Test
    void lossTermsAreMlmAndSop() {
        AlbertForPreTraining model = new AlbertForPreTraining(AlbertTesting.config(), ParallelContext.single());
        try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(model, 1, m);
             Tape tape = new Tape(m, 1, false)) {
            LossTerms terms = model.lossTerms(tape, AlbertTesting.batch(m), true);
            assertEquals(List.of("mlm", "sop"), terms.names());
            assertEquals(Map.of("mlm", 5L, "sop", 2L), terms.counts());
            assertTrue(terms.terms().get(0).correct() >= 0);
            int t = ModelTesting.T;
            String bad = assertThrows(IllegalArgumentException.class, () -> model.forward(tape,
                    TokenBatch.of(m, 1, t, new int[t], null, null, null, new int[] {2}))).getMessage();
            assertTrue(bad.contains("nextSentenceLabels (sentence_order_label) holds 2") && bad.contains("1 (swapped)"), bad);
        }
    }
}
