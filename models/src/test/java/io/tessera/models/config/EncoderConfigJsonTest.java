package io.tessera.models.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.List;
import org.junit.jupiter.api.Test;

/** RoBERTa's and DistilBERT's {@code config.json}: Hugging Face's files read, keys written, errors named. */
class EncoderConfigJsonTest {

    /** Hugging Face's {@code roberta-base/config.json}. */
    private static final String ROBERTA_BASE = """
            {
              "architectures": ["RobertaForMaskedLM"],
              "attention_probs_dropout_prob": 0.1,
              "bos_token_id": 0,
              "eos_token_id": 2,
              "hidden_act": "gelu",
              "hidden_dropout_prob": 0.1,
              "hidden_size": 768,
              "initializer_range": 0.02,
              "intermediate_size": 3072,
              "layer_norm_eps": 1e-05,
              "max_position_embeddings": 514,
              "model_type": "roberta",
              "num_attention_heads": 12,
              "num_hidden_layers": 12,
              "pad_token_id": 1,
              "type_vocab_size": 1,
              "vocab_size": 50265
            }
            """;

    /** Hugging Face's {@code distilbert-base-uncased/config.json}. */
    private static final String DISTILBERT_BASE_UNCASED = """
            {
              "activation": "gelu",
              "architectures": ["DistilBertForMaskedLM"],
              "attention_dropout": 0.1,
              "dim": 768,
              "dropout": 0.1,
              "hidden_dim": 3072,
              "initializer_range": 0.02,
              "max_position_embeddings": 512,
              "model_type": "distilbert",
              "n_heads": 12,
              "n_layers": 6,
              "pad_token_id": 0,
              "qa_dropout": 0.1,
              "seq_classif_dropout": 0.2,
              "sinusoidal_pos_embds": false,
              "tie_weights_": true,
              "transformers_version": "4.10.0.dev0",
              "vocab_size": 30522
            }
            """;

    private static String error(String json) {
        return assertThrows(IllegalArgumentException.class, () -> HfConfigJson.parse(json)).getMessage();
    }

    private static void assertContainsAll(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "expected \"" + part + "\" in:\n" + message);
        }
    }

    private static String with(String json, String key, String value) {
        JsonObject o = JsonParser.parseString(json).getAsJsonObject();
        o.remove(key);
        if (value != null) {
            o.add(key, JsonParser.parseString(value));
        }
        return o.toString();
    }

    @Test
    void readsHuggingFacesRobertaBaseAndDistilBertBaseUncased() {
        assertEquals(Presets.get("roberta-base"), HfConfigJson.parse(ROBERTA_BASE));
        assertEquals(Presets.get("distilbert-base-uncased"), HfConfigJson.parse(DISTILBERT_BASE_UNCASED));
        assertEquals(Presets.get("roberta-large"), HfConfigJson.parse(with(with(with(with(ROBERTA_BASE,
                "hidden_size", "1024"), "num_hidden_layers", "24"), "num_attention_heads", "16"), "intermediate_size", "4096")));
    }

    @Test
    void writesHuggingFacesKeysAndClassNames() {
        JsonObject r = JsonParser.parseString(HfConfigJson.toJson(Presets.get("roberta-base"))).getAsJsonObject();
        assertEquals("roberta", r.get("model_type").getAsString());
        assertEquals("RobertaForMaskedLM", r.getAsJsonArray("architectures").get(0).getAsString());
        assertEquals(1, r.get("pad_token_id").getAsInt());
        assertEquals(1, r.get("type_vocab_size").getAsInt());
        assertEquals(514, r.get("max_position_embeddings").getAsInt());
        assertEquals(1e-5, r.get("layer_norm_eps").getAsDouble());
        JsonObject d = JsonParser.parseString(HfConfigJson.toJson(Presets.get("distilbert-base-uncased"))).getAsJsonObject();
        assertEquals("DistilBertForMaskedLM", d.getAsJsonArray("architectures").get(0).getAsString());
        for (String key : List.of("activation", "attention_dropout", "dim", "dropout", "hidden_dim", "initializer_range",
                "max_position_embeddings", "model_type", "n_heads", "n_layers", "pad_token_id", "sinusoidal_pos_embds",
                "tie_weights_", "vocab_size")) {
            assertTrue(d.has(key), key + " missing in " + d);
        }
        for (String bertKey : List.of("hidden_size", "num_hidden_layers", "type_vocab_size", "layer_norm_eps")) {
            assertFalse(d.has(bertKey), bertKey + " is not a DistilBERT key: " + d);
        }
        assertEquals(768, d.get("dim").getAsInt());
        assertEquals(512, Presets.get("roberta-base").maxSequenceLength(), "514 positions less pad_token_id + 1");
        assertEquals(512, Presets.get("distilbert-base-uncased").maxSequenceLength());
        assertEquals(3072, d.get("hidden_dim").getAsInt());
        assertEquals("RobertaModel", ModelVariant.BASE_MODEL.hfClassName(Presets.get("roberta-base")));
        assertEquals("DistilBertModel", ModelVariant.BASE_MODEL.hfClassName(Presets.get("distilbert-base-uncased")));
    }

    @Test
    void variantsRoundTrip() {
        TransformerConfig r = Presets.get("roberta-tiny").toBuilder().optPadTokenId(0).setMaxPositions(65)
                .optAttentionDropout(0).optTypeVocabSize(2).build();
        assertEquals(r, HfConfigJson.parse(HfConfigJson.toJson(r)));
        TransformerConfig d = Presets.get("distilbert-tiny").toBuilder().optIntermediateSize(96).optHiddenDropout(0.2).build();
        assertEquals(d, HfConfigJson.parse(HfConfigJson.toJson(d)));
    }

    @Test
    void absentKeysTakeTheHuggingFaceClassDefaults() {
        TransformerConfig r = HfConfigJson.parse(with(with(with(ROBERTA_BASE, "type_vocab_size", null), "layer_norm_eps",
                null), "pad_token_id", null));
        assertEquals(2, r.typeVocabSize(), "RobertaConfig's default type_vocab_size");
        assertEquals(1e-12, r.layerNormEps(), "RobertaConfig's default layer_norm_eps");
        assertEquals(1, r.padTokenId());
        TransformerConfig d = HfConfigJson.parse(with(with(DISTILBERT_BASE_UNCASED, "activation", null), "dropout", null));
        assertEquals(Activation.GELU, d.hiddenAct());
        assertEquals(0.1, d.hiddenDropout());
    }

    @Test
    void errorsNameTheKeyTheValueTheRuleAndAFix() {
        assertContainsAll(error(with(ROBERTA_BASE, "num_attention_heads", "7")), "hiddenSize (hidden_size) = 768",
                "numHeads (num_attention_heads) = 7", "choose numHeads from", "model_type \"roberta\"");
        assertContainsAll(error(with(DISTILBERT_BASE_UNCASED, "n_heads", "5")), "hiddenSize (dim) = 768",
                "numHeads (n_heads) = 5", "choose numHeads from", "model_type \"distilbert\"");
        assertContainsAll(error(with(ROBERTA_BASE, "max_position_embeddings", "2")), "maxPositions (max_position_embeddings) = 2",
                "padTokenId + 1 = 2", "514 for 512 tokens");
        assertContainsAll(error(with(ROBERTA_BASE, "pad_token_id", "50265")), "padTokenId (pad_token_id) = 50265",
                "[0, vocabSize (vocab_size) = 50265)");
        assertContainsAll(error(with(DISTILBERT_BASE_UNCASED, "sinusoidal_pos_embds", "true")),
                "\"sinusoidal_pos_embds\" = true", "learned position embeddings");
        assertContainsAll(error(with(DISTILBERT_BASE_UNCASED, "dim", null)), "\"dim\" is missing");
        assertContainsAll(error(with(ROBERTA_BASE, "tessera_pre_layer_norm", "true")), "RoBERTa is post-LN");
        assertContainsAll(error(with(ROBERTA_BASE, "type_vocab_size", "0")), "typeVocabSize (type_vocab_size) = 0");
    }

    @Test
    void builderRejectsWhatTheFamiliesCannotBe() {
        String pre = assertThrows(IllegalArgumentException.class,
                () -> Presets.get("roberta-tiny").toBuilder().optPreLayerNorm(true).build()).getMessage();
        assertContainsAll(pre, "preLayerNorm = true", "ROBERTA", "post-LN");
        String types = assertThrows(IllegalArgumentException.class,
                () -> Presets.get("distilbert-tiny").toBuilder().optTypeVocabSize(2).build()).getMessage();
        assertContainsAll(types, "typeVocabSize = 2", "DISTILBERT");
        String eps = assertThrows(IllegalArgumentException.class,
                () -> Presets.get("distilbert-tiny").toBuilder().optLayerNormEps(1e-5).build()).getMessage();
        assertContainsAll(eps, "layerNormEps = 1.0E-5", "1e-12");
    }
}
