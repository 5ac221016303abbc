package io.tessera.models.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** ALBERT's configuration: defaults, refused shapes with their messages, config.json and parameter counts. */
class AlbertConfigTest {

    private static TransformerConfig.Builder tiny() {
        return Presets.get("albert-tiny").toBuilder();
    }

    private static String refused(TransformerConfig.Builder b) {
        return assertThrows(IllegalArgumentException.class, b::build).getMessage();
    }

    @Test
    void defaultsAreAlbertConfigs() {
        TransformerConfig c = Presets.get("albert-base-v2");
        assertEquals(Activation.GELU_NEW, c.hiddenAct());
        assertEquals(1e-12, c.layerNormEps());
        assertEquals(0.0, c.hiddenDropout());
        assertEquals(0.0, c.attentionDropout());
        assertEquals(128, c.embeddingSize());
        assertEquals(new AlbertShape(128, 1, 1, 0.1), c.albert());
        assertEquals(768, Presets.get("bert-base").embeddingSize(), "E = H outside ALBERT");
        assertEquals(null, Presets.get("bert-base").albert());
    }

    @Test
    void embeddingWiderThanHiddenIsAllowed() {
        TransformerConfig c = tiny().optAlbert(new AlbertShape(48, 2, 1, 0.1)).build();
        assertEquals(48, c.embeddingSize());
        assertEquals(32, c.hiddenSize());
    }

    @Test
    void badShapesAreRefusedNamingValueRuleAndFix() {
        String heads = refused(tiny().setNumHeads(5));
        assertTrue(heads.contains("hiddenSize = 32 is not divisible by numHeads = 5") && heads.contains("choose numHeads from"), heads);

        String groups = refused(tiny().optAlbert(new AlbertShape(16, 3, 1, 0.1)));
        assertTrue(groups.contains("numLayers (num_hidden_layers) = 4 is not divisible by numHiddenGroups (num_hidden_groups) = 3")
                && groups.contains("choose numHiddenGroups from [1, 2, 4]"), groups);

        String many = refused(tiny().optAlbert(new AlbertShape(0, 0, 0, 1.0)));
        for (String field : List.of("embeddingSize (embedding_size) = 0", "numHiddenGroups (num_hidden_groups) = 0",
                "innerGroupNum (inner_group_num) = 0", "classifierDropout (classifier_dropout_prob) = 1.0")) {
            assertTrue(many.contains(field), many);
        }

        String onBert = refused(Presets.get("bert-tiny").toBuilder().optAlbert(AlbertShape.DEFAULT));
        assertTrue(onBert.contains("exist only for Architecture.ALBERT: drop optAlbert(..)"), onBert);

        String preLn = refused(tiny().optPreLayerNorm(true));
        assertTrue(preLn.contains("ALBERT, which is post-LN"), preLn);
    }

    @Test
    void groupOfFollowsHuggingFace() {
        AlbertShape s = new AlbertShape(128, 2, 1, 0.1);
        int[] groups = new int[12];
        for (int l = 0; l < 12; l++) {
            groups[l] = s.groupOf(l, 12);
        }
        assertEquals(List.of(0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1), java.util.Arrays.stream(groups).boxed().toList());
        assertEquals(0, AlbertShape.DEFAULT.groupOf(11, 12));
    }

    @Test
    void configJsonRoundTripsWithAlbertKeys() {
        for (String name : List.of("albert-base-v2", "albert-xxlarge-v2", "albert-tiny")) {
            TransformerConfig c = Presets.get(name);
            String json = HfConfigJson.toJson(c);
            assertTrue(json.contains("\"model_type\": \"albert\"") && json.contains("\"AlbertForPreTraining\"")
                    && json.contains("\"embedding_size\"") && json.contains("\"num_hidden_groups\"")
                    && json.contains("\"inner_group_num\"") && json.contains("\"classifier_dropout_prob\""), json);
            assertEquals(c, HfConfigJson.parse(json), name);
        }
    }

    @Test
    void publishedAlbertBaseV2ConfigReads() {
        // Hugging Face's albert-base-v2 config.json, abridged to the keys that matter.
        String json = "{\"architectures\": [\"AlbertForMaskedLM\"], \"attention_probs_dropout_prob\": 0,"
                + " \"bos_token_id\": 2, \"classifier_dropout_prob\": 0.1, \"down_scale_factor\": 1, \"embedding_size\": 128,"
                + " \"eos_token_id\": 3, \"gap_size\": 0, \"hidden_act\": \"gelu_new\", \"hidden_dropout_prob\": 0,"
                + " \"hidden_size\": 768, \"initializer_range\": 0.02, \"inner_group_num\": 1, \"intermediate_size\": 3072,"
                + " \"layer_norm_eps\": 1e-12, \"max_position_embeddings\": 512, \"model_type\": \"albert\", \"net_structure_type\": 0,"
                + " \"num_attention_heads\": 12, \"num_hidden_groups\": 1, \"num_hidden_layers\": 12, \"num_memory_blocks\": 0,"
                + " \"pad_token_id\": 0, \"type_vocab_size\": 2, \"vocab_size\": 30000}";
        TransformerConfig c = HfConfigJson.parse(json);
        assertEquals(Presets.get("albert-base-v2"), c);
        assertEquals(11_683_584L, ParameterCount.of(c, ModelVariant.BASE_MODEL).total());
        String bad = assertThrows(IllegalArgumentException.class,
                () -> HfConfigJson.parse(json.replace("\"num_hidden_groups\": 1", "\"num_hidden_groups\": 5"))).getMessage();
        assertTrue(bad.contains("model_type \"albert\"") && bad.contains("num_hidden_groups") && bad.contains("= 5"), bad);
    }

    @Test
    void parameterCountsCountASharedLayerOnce() {
        assertEquals(11_683_584L, ParameterCount.of(Presets.get("albert-base-v2"), ModelVariant.BASE_MODEL).total());
        assertEquals(17_683_968L, ParameterCount.of(Presets.get("albert-large-v2"), ModelVariant.BASE_MODEL).total());
        assertEquals(222_595_584L, ParameterCount.of(Presets.get("albert-xxlarge-v2"), ModelVariant.BASE_MODEL).total());
        ParameterCount c = ParameterCount.of(Presets.get("albert-base-v2"), ModelVariant.PRETRAINING_MODEL);
        assertEquals(30000L * 128, c.wordEmbeddings());
        assertEquals(128L * 768 + 768, c.embeddingHiddenMapping());
        assertEquals(1, c.distinctLayers());
        assertEquals(768L * 128 + 3 * 128, c.mlmTransform());
        assertEquals(30000, c.mlmDecoderBias());
        assertEquals(2 * 768 + 2, c.nspClassifier());
        assertEquals(11_813_810L, c.total());
        ParameterCount deeper = ParameterCount.of(Presets.get("albert-base-v2").toBuilder().setNumLayers(24).build(),
                ModelVariant.BASE_MODEL);
        assertEquals(11_683_584L, deeper.total(), "depth adds no parameters when every step shares one layer");
        ParameterCount tiny = ParameterCount.ofPaddedVocab(Presets.get("albert-tiny"), ModelVariant.PRETRAINING_MODEL, 2);
        assertEquals(2, tiny.distinctLayers());
        assertEquals(tiny.total() + tiny.replicatedAcrossTensorParallel(), 2 * tiny.perTensorParallelRank());
    }
}
