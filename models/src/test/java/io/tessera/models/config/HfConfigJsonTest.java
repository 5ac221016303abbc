package io.tessera.models.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfConfigJsonTest {

    /** Hugging Face's {@code bert-base-uncased/config.json}, with the keys Tessera ignores. */
    private static final String BERT_BASE_UNCASED = """
            {
              "architectures": ["BertForMaskedLM"],
              "attention_probs_dropout_prob": 0.1,
              "gradient_checkpointing": false,
              "hidden_act": "gelu",
              "hidden_dropout_prob": 0.1,
              "hidden_size": 768,
              "initializer_range": 0.02,
              "intermediate_size": 3072,
              "layer_norm_eps": 1e-12,
              "max_position_embeddings": 512,
              "model_type": "bert",
              "num_attention_heads": 12,
              "num_hidden_layers": 12,
              "pad_token_id": 0,
              "position_embedding_type": "absolute",
              "transformers_version": "4.6.0.dev0",
              "type_vocab_size": 2,
              "use_cache": true,
              "vocab_size": 30522
            }
            """;

    /** Hugging Face's {@code gpt2/config.json}, with the keys Tessera ignores. */
    private static final String GPT2 = """
            {
              "activation_function": "gelu_new",
              "architectures": ["GPT2LMHeadModel"],
              "attn_pdrop": 0.1,
              "bos_token_id": 50256,
              "embd_pdrop": 0.1,
              "eos_token_id": 50256,
              "initializer_range": 0.02,
              "layer_norm_epsilon": 1e-05,
              "model_type": "gpt2",
              "n_ctx": 1024,
              "n_embd": 768,
              "n_head": 12,
              "n_layer": 12,
              "n_positions": 1024,
              "resid_pdrop": 0.1,
              "summary_activation": null,
              "summary_first_dropout": 0.1,
              "summary_proj_to_labels": true,
              "summary_type": "cls_index",
              "summary_use_proj": true,
              "task_specific_params": {"text-generation": {"do_sample": true, "max_length": 50}},
              "vocab_size": 50257
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

    /** {@code json} with {@code key} set to the raw JSON {@code value}, or removed when value is null. */
    private static String with(String json, String key, String value) {
        JsonObject o = JsonParser.parseString(json).getAsJsonObject();
        o.remove(key);
        if (value != null) {
            o.add(key, JsonParser.parseString(value));
        }
        return o.toString();
    }

    @Test
    void readsHuggingFacesBertBaseUncased() {
        assertEquals(Presets.get("bert-base"), HfConfigJson.parse(BERT_BASE_UNCASED));
    }

    @Test
    void readsHuggingFacesGpt2() {
        assertEquals(Presets.get("gpt2"), HfConfigJson.parse(GPT2));
    }

    @Test
    void everyPresetRoundTrips() {
        for (Preset p : Presets.all()) {
            String json = HfConfigJson.toJson(p.config());
            assertEquals(p.config(), HfConfigJson.parse(json), p.name() + ":\n" + json);
            assertEquals(json, HfConfigJson.toJson(HfConfigJson.parse(json)), p.name());
        }
    }

    @Test
    void unusualValuesRoundTrip() {
        TransformerConfig bert = Presets.get("bert-tiny").toBuilder().optHiddenDropout(0).optAttentionDropout(0.3)
                .optLayerNormEps(1e-7).optInitializerRange(0.015).optTypeVocabSize(1).optHiddenAct(Activation.GELU_NEW)
                .optMakeVocabSizeDivisibleBy(8).build();
        assertEquals(bert, HfConfigJson.parse(HfConfigJson.toJson(bert)));
        TransformerConfig gpt2 = Presets.get("gpt2-tiny").toBuilder().optIntermediateSize(96)
                .optHiddenAct(Activation.GELU).optHiddenDropout(0).optAttentionDropout(0).build();
        assertEquals(gpt2, HfConfigJson.parse(HfConfigJson.toJson(gpt2)));
    }

    @Test
    void writesBertWithHuggingFacesKeys() {
        JsonObject o = JsonParser.parseString(HfConfigJson.toJson(Presets.get("bert-base"))).getAsJsonObject();
        assertEquals(Set.of("architectures", "attention_probs_dropout_prob", "hidden_act", "hidden_dropout_prob",
                "hidden_size", "initializer_range", "intermediate_size", "layer_norm_eps", "max_position_embeddings",
                "model_type", "num_attention_heads", "num_hidden_layers", "tessera_make_vocab_size_divisible_by",
                "tessera_pre_layer_norm", "type_vocab_size", "vocab_size"), o.keySet());
        assertEquals("bert", o.get("model_type").getAsString());
        assertEquals("BertForPreTraining", o.getAsJsonArray("architectures").get(0).getAsString());
        assertEquals(768, o.get("hidden_size").getAsInt());
        assertEquals(1e-12, o.get("layer_norm_eps").getAsDouble());
        assertFalse(o.get("tessera_pre_layer_norm").getAsBoolean());
    }

    @Test
    void writesPreLnBertAsMegatronBert() {
        JsonObject o = JsonParser.parseString(HfConfigJson.toJson(Presets.get("megatron-bert-3.9b")))
                .getAsJsonObject();
        assertEquals("megatron-bert", o.get("model_type").getAsString());
        assertEquals("MegatronBertForPreTraining", o.getAsJsonArray("architectures").get(0).getAsString());
        assertTrue(o.get("tessera_pre_layer_norm").getAsBoolean());
    }

    @Test
    void writesGpt2WithHuggingFacesKeys() {
        String json = HfConfigJson.toJson(Presets.get("gpt2"));
        JsonObject o = JsonParser.parseString(json).getAsJsonObject();
        assertEquals(Set.of("activation_function", "architectures", "attn_pdrop", "embd_pdrop", "initializer_range",
                "layer_norm_epsilon", "model_type", "n_ctx", "n_embd", "n_head", "n_inner", "n_layer", "n_positions",
                "resid_pdrop", "tessera_make_vocab_size_divisible_by", "vocab_size"), o.keySet());
        assertEquals("GPT2LMHeadModel", o.getAsJsonArray("architectures").get(0).getAsString());
        assertTrue(o.get("n_inner").isJsonNull(), "n_inner is null when it is 4·n_embd");
        assertEquals(1024, o.get("n_ctx").getAsInt());
        assertTrue(json.endsWith("}\n"));
        assertTrue(json.contains("\n  \"activation_function\": \"gelu_new\","), json);
    }

    @Test
    void writesKeysSorted() {
        for (String name : List.of("bert-base", "gpt2")) {
            JsonObject o = JsonParser.parseString(HfConfigJson.toJson(Presets.get(name))).getAsJsonObject();
            List<String> keys = new ArrayList<>(o.keySet());
            assertEquals(new ArrayList<>(new TreeSet<>(keys)), keys);
        }
    }

    @Test
    void explicitNInnerIsWrittenAndRead() {
        TransformerConfig c = Presets.get("gpt2-tiny").toBuilder().optIntermediateSize(100).build();
        JsonObject o = JsonParser.parseString(HfConfigJson.toJson(c)).getAsJsonObject();
        assertEquals(100, o.get("n_inner").getAsInt());
        assertEquals(100, HfConfigJson.parse(with(GPT2, "n_inner", "100")).intermediateSize());
        assertEquals(3072, HfConfigJson.parse(with(GPT2, "n_inner", "null")).intermediateSize());
        assertEquals(3072, HfConfigJson.parse(with(GPT2, "n_inner", null)).intermediateSize());
    }

    @Test
    void megatronBertModelTypeIsPreLn() {
        TransformerConfig c = HfConfigJson.parse(with(BERT_BASE_UNCASED, "model_type", "\"megatron-bert\""));
        assertTrue(c.preLayerNorm());
        assertEquals(Presets.get("bert-base").toBuilder().optPreLayerNorm(true).build(), c);
    }

    @Test
    void tesseraKeysAreRead() {
        String json = with(with(BERT_BASE_UNCASED, "tessera_pre_layer_norm", "true"),
                "tessera_make_vocab_size_divisible_by", "64");
        TransformerConfig c = HfConfigJson.parse(json);
        assertTrue(c.preLayerNorm());
        assertEquals(64, c.makeVocabSizeDivisibleBy());
        assertTrue(HfConfigJson.parse(with(GPT2, "tessera_pre_layer_norm", "true")).preLayerNorm());
    }

    @Test
    void missingOptionalKeysTakeHuggingFacesDefaults() {
        String bert = BERT_BASE_UNCASED;
        for (String key : List.of("hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob",
                "type_vocab_size", "initializer_range", "layer_norm_eps")) {
            bert = with(bert, key, null);
        }
        assertEquals(Presets.get("bert-base"), HfConfigJson.parse(bert));
        String gpt2 = GPT2;
        for (String key : List.of("activation_function", "resid_pdrop", "embd_pdrop", "attn_pdrop",
                "layer_norm_epsilon", "initializer_range", "n_ctx")) {
            gpt2 = with(gpt2, key, null);
        }
        assertEquals(Presets.get("gpt2"), HfConfigJson.parse(gpt2));
    }

    @Test
    void readsAndWritesFilesAndModelDirectories(@TempDir Path dir) throws IOException {
        TransformerConfig c = Presets.get("megatron-bert-1.3b");
        Path written = HfConfigJson.write(c, dir);
        assertEquals(dir.resolve("config.json"), written);
        assertEquals(c, HfConfigJson.read(dir));
        assertEquals(c, HfConfigJson.read(written));
        Path other = dir.resolve("gpt.json");
        assertEquals(other, HfConfigJson.write(Presets.get("gpt2-xl"), other));
        assertEquals(Presets.get("gpt2-xl"), HfConfigJson.read(other));
    }

    @Test
    void fileErrorsStartWithThePath(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("config.json");
        Files.writeString(file, with(GPT2, "n_head", "7"));
        String m = assertThrows(IllegalArgumentException.class, () -> HfConfigJson.read(file)).getMessage();
        assertTrue(m.startsWith(file.toString() + ": "), m);
        assertContainsAll(m, "hiddenSize (n_embd) = 768", "numHeads (n_head) = 7", "model_type \"gpt2\"");
        assertThrows(IOException.class, () -> HfConfigJson.read(dir.resolve("missing.json")));
    }

    @Test
    void rejectsTextThatIsNotAJsonObject() {
        assertContainsAll(error("{\"model_type\": "), "not valid JSON");
        assertContainsAll(error("[1, 2]"), "must hold a JSON object", "an array");
        assertContainsAll(error(""), "must hold a JSON object");
        assertContainsAll(error("{model_type: bert}"), "not valid JSON");
        assertContainsAll(error(with(GPT2, "resid_pdrop", "0.1").replace("\"resid_pdrop\":0.1", "\"resid_pdrop\":NaN")),
                "not valid JSON");
    }

    @Test
    void rejectsMissingOrUnknownModelType() {
        assertContainsAll(error(with(GPT2, "model_type", null)), "\"model_type\" is missing");
        assertContainsAll(error(with(GPT2, "model_type", "\"xlnet\"")), "model_type = \"xlnet\"",
                "\"bert\", \"megatron-bert\"", "\"gpt2\"", "\"albert\"", "Presets.names()");
        assertContainsAll(error(with(GPT2, "model_type", "3")), "\"model_type\" must be a string", "the number 3");
    }

    @Test
    void rejectsMissingShapeKeys() {
        for (String key : List.of("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                "intermediate_size", "max_position_embeddings")) {
            assertContainsAll(error(with(BERT_BASE_UNCASED, key, null)), "\"" + key + "\" is missing");
        }
        for (String key : List.of("vocab_size", "n_embd", "n_layer", "n_head", "n_positions")) {
            assertContainsAll(error(with(GPT2, key, null)), "\"" + key + "\" is missing");
        }
    }

    @Test
    void rejectsValuesOfTheWrongType() {
        assertContainsAll(error(with(BERT_BASE_UNCASED, "hidden_size", "\"768\"")), "\"hidden_size\" must be an integer",
                "the string \"768\"");
        assertContainsAll(error(with(BERT_BASE_UNCASED, "hidden_size", "768.5")), "\"hidden_size\" must be an integer",
                "768.5");
        assertContainsAll(error(with(BERT_BASE_UNCASED, "vocab_size", "3000000000")), "\"vocab_size\"", "3000000000");
        assertContainsAll(error(with(BERT_BASE_UNCASED, "vocab_size", "null")), "\"vocab_size\" is null");
        assertContainsAll(error(with(BERT_BASE_UNCASED, "layer_norm_eps", "\"1e-12\"")),
                "\"layer_norm_eps\" must be a number");
        assertContainsAll(error(with(BERT_BASE_UNCASED, "tessera_pre_layer_norm", "1")),
                "\"tessera_pre_layer_norm\" must be true or false");
        assertEquals(768, HfConfigJson.parse(with(BERT_BASE_UNCASED, "hidden_size", "768.0")).hiddenSize());
    }

    @Test
    void rejectsUnsupportedActivations() {
        assertContainsAll(error(with(BERT_BASE_UNCASED, "hidden_act", "\"relu\"")), "\"hidden_act\"", "\"relu\"",
                "\"gelu\", \"gelu_new\"");
        assertContainsAll(error(with(GPT2, "activation_function", "\"swish\"")), "\"activation_function\"", "\"swish\"");
    }

    @Test
    void rejectsArchitecturesTesseraDoesNotBuild() {
        assertContainsAll(error(with(BERT_BASE_UNCASED, "position_embedding_type", "\"relative_key\"")),
                "position_embedding_type = \"relative_key\"", "absolute");
        assertContainsAll(error(with(BERT_BASE_UNCASED, "is_decoder", "true")), "\"is_decoder\" = true");
        assertContainsAll(error(with(BERT_BASE_UNCASED, "add_cross_attention", "true")), "\"add_cross_attention\"");
        assertContainsAll(error(with(GPT2, "tie_word_embeddings", "false")), "\"tie_word_embeddings\" = false",
                "ties");
        assertContainsAll(error(with(GPT2, "scale_attn_by_inverse_layer_idx", "true")),
                "\"scale_attn_by_inverse_layer_idx\" = true");
        assertContainsAll(error(with(GPT2, "scale_attn_weights", "false")), "\"scale_attn_weights\" = false");
        assertContainsAll(error(with(GPT2, "tessera_pre_layer_norm", "false")), "GPT-2 is always pre-LN");
        assertContainsAll(error(with(with(BERT_BASE_UNCASED, "model_type", "\"megatron-bert\""),
                "tessera_pre_layer_norm", "false")), "\"megatron-bert\" is pre-LN");
        // Keys with the supported value are accepted.
        HfConfigJson.parse(with(with(GPT2, "tie_word_embeddings", "true"), "scale_attn_weights", "true"));
    }

    @Test
    void rejectsInconsistentGpt2Keys() {
        assertContainsAll(error(with(GPT2, "n_ctx", "2048")), "n_ctx = 2048", "n_positions = 1024");
        assertContainsAll(error(with(GPT2, "embd_pdrop", "0.0")), "embd_pdrop = 0.0", "resid_pdrop = 0.1");
    }

    @Test
    void invalidModelsNameTheTesseraField() {
        assertContainsAll(error(with(BERT_BASE_UNCASED, "hidden_dropout_prob", "1.0")),
                "hiddenDropout (hidden_dropout_prob) = 1.0", "[0, 1)", "model_type \"bert\"");
        assertContainsAll(error(with(GPT2, "vocab_size", "0")), "vocabSize (vocab_size) = 0");
        assertContainsAll(error(with(BERT_BASE_UNCASED, "tessera_make_vocab_size_divisible_by", "0")),
                "makeVocabSizeDivisibleBy (tessera_make_vocab_size_divisible_by) = 0");
    }
}
