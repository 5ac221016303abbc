package io.tessera.models.config;

import static io.tessera.models.config.ModelVariant.BASE_MODEL;
import static io.tessera.models.config.ModelVariant.PRETRAINING_MODEL;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ParameterCountTest {

    /** Counts of Hugging Face's checkpoints ({@code sum(p.numel() for p in model.parameters())}). */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({
        "gpt2,        PRETRAINING_MODEL, 124439808",
        "gpt2,        BASE_MODEL,        124439808",
        "gpt2-medium, PRETRAINING_MODEL, 354823168",
        "gpt2-large,  PRETRAINING_MODEL, 774030080",
        "gpt2-xl,     PRETRAINING_MODEL, 1557611200",
        "bert-base,   BASE_MODEL,        109482240",
        "bert-base,   PRETRAINING_MODEL, 110106428",
        "bert-large,  BASE_MODEL,        335141888",
        "bert-large,  PRETRAINING_MODEL, 336226108",
        "roberta-base,  BASE_MODEL,        124645632",
        "roberta-base,  PRETRAINING_MODEL, 124697433",
        "roberta-large, BASE_MODEL,        355359744",
        "roberta-large, PRETRAINING_MODEL, 355412057",
        "distilbert-base-uncased, BASE_MODEL,        66362880",
        "distilbert-base-uncased, PRETRAINING_MODEL, 66985530",
    })
    void matchesHuggingFace(String preset, ModelVariant variant, long expected) {
        assertEquals(expected, ParameterCount.of(Presets.get(preset), variant).total());
    }

    @Test
    void bertBaseComponents() {
        ParameterCount c = ParameterCount.of(Presets.get("bert-base"), PRETRAINING_MODEL);
        assertEquals(30522L * 768, c.wordEmbeddings());
        assertEquals(512L * 768, c.positionEmbeddings());
        assertEquals(2L * 768, c.tokenTypeEmbeddings());
        assertEquals(2L * 768, c.embeddingLayerNorm());
        assertEquals(23_837_184, c.embeddings());
        assertEquals(4L * 768 * 768 + 4 * 768, c.attentionPerLayer());
        assertEquals(2L * 768 * 3072 + 3072 + 768, c.mlpPerLayer());
        assertEquals(4L * 768, c.layerNormsPerLayer());
        assertEquals(7_087_872, c.perLayer());
        assertEquals(12L * 7_087_872, c.layers());
        assertEquals(0, c.finalLayerNorm());
        assertEquals(590_592, c.pooler());
        assertEquals(768L * 768 + 3 * 768, c.mlmTransform());
        assertEquals(30522, c.mlmDecoderBias());
        assertEquals(2 * 768 + 2, c.nspClassifier());
        assertEquals(624_188, c.heads());
        assertEquals(30522, c.vocabSize());
        assertEquals(1, c.tensorParallel());
        assertEquals(PRETRAINING_MODEL, c.variant());
    }

    @Test
    void componentsSumToTheTotal() {
        for (Preset p : Presets.all()) {
            for (ModelVariant v : ModelVariant.values()) {
                ParameterCount c = ParameterCount.of(p.config(), v);
                assertEquals(c.total(), c.embeddings() + c.layers() + c.finalLayerNorm() + c.pooler() + c.heads());
                assertEquals(c.embeddings(), c.wordEmbeddings() + c.positionEmbeddings() + c.tokenTypeEmbeddings()
                        + c.embeddingLayerNorm() + c.embeddingHiddenMapping());
                assertEquals(c.heads(), c.mlmTransform() + c.mlmDecoderBias() + c.nspClassifier());
                assertEquals(c.perLayer(), c.attentionPerLayer() + c.mlpPerLayer() + c.layerNormsPerLayer());
            }
        }
    }

    @Test
    void gpt2HasATiedHeadAndNoPoolerOrTokenTypes() {
        ParameterCount base = ParameterCount.of(Presets.get("gpt2"), BASE_MODEL);
        ParameterCount lm = ParameterCount.of(Presets.get("gpt2"), PRETRAINING_MODEL);
        assertEquals(base.total(), lm.total());
        assertEquals(0, lm.heads());
        assertEquals(0, lm.pooler());
        assertEquals(0, lm.tokenTypeEmbeddings());
        assertEquals(0, lm.embeddingLayerNorm());
        assertEquals(2 * 768, lm.finalLayerNorm());
    }

    @Test
    void preLnBertMovesTheEmbeddingLayerNormToTheEnd() {
        TransformerConfig post = Presets.get("bert-large");
        TransformerConfig pre = post.toBuilder().optPreLayerNorm(true).build();
        for (ModelVariant v : ModelVariant.values()) {
            ParameterCount a = ParameterCount.of(post, v);
            ParameterCount b = ParameterCount.of(pre, v);
            assertEquals(a.total(), b.total());
            assertEquals(2 * 1024, a.embeddingLayerNorm());
            assertEquals(0, a.finalLayerNorm());
            assertEquals(0, b.embeddingLayerNorm());
            assertEquals(2 * 1024, b.finalLayerNorm());
        }
        // Megatron-BERT 336M is BERT-large's shape, pre-LN: the paper's 336M is BertForPreTraining's count.
        assertEquals(336_226_108L, ParameterCount.of(Presets.get("megatron-bert-336m"), PRETRAINING_MODEL).total());
    }

    /**
     * The GPT-2 paper's 117M/345M/762M/1542M are reproduced, to the rounding, by counting with GPT-1's
     * 40,478-token vocabulary instead of GPT-2's 50,257.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"gpt2, 117", "gpt2-medium, 345", "gpt2-large, 762", "gpt2-xl, 1542"})
    void gpt2PaperFiguresMatchTheGpt1Vocabulary(String preset, long publishedMillions) {
        TransformerConfig withGpt1Vocab = Presets.get(preset).toBuilder().setVocabSize(40478).build();
        long count = ParameterCount.of(withGpt1Vocab, PRETRAINING_MODEL).total();
        assertEquals(publishedMillions, Math.round(count / 1e6), preset + ": " + count);
        assertEquals(publishedMillions * 1_000_000L, Presets.preset(preset).publishedParameters().getAsLong());
    }

    @Test
    void paddedVocabularyAddsRowsAndDecoderBias() {
        TransformerConfig gpt2 = Presets.get("gpt2");
        ParameterCount padded = ParameterCount.ofPaddedVocab(gpt2, PRETRAINING_MODEL, 1);
        assertEquals(50304, padded.vocabSize());
        assertEquals(124_439_808L + 47L * 768, padded.total());

        ParameterCount megatron = ParameterCount.ofPaddedVocab(Presets.get("megatron-gpt2-8.3b"), PRETRAINING_MODEL, 8);
        assertEquals(51200, megatron.vocabSize());
        assertEquals(8, megatron.tensorParallel());
        assertEquals(8_314_143_744L + 943L * 3072, megatron.total());

        TransformerConfig bert = Presets.get("bert-base");
        ParameterCount bertPadded = ParameterCount.ofPaddedVocab(bert, PRETRAINING_MODEL, 2);
        assertEquals(30720, bertPadded.vocabSize());
        // 198 extra embedding rows and 198 extra decoder biases.
        assertEquals(110_106_428L + 198L * 768 + 198, bertPadded.total());
    }

    @Test
    void paddedCountChecksTheTensorParallelDegree() {
        String m = assertThrows(IllegalArgumentException.class,
                () -> ParameterCount.ofPaddedVocab(Presets.get("turing-nlg-17b"), PRETRAINING_MODEL, 8)).getMessage();
        assertTrue(m.contains("numHeads = 28"), m);
    }

    @Test
    void perRankIsTheTotalAtDegreeOne() {
        for (Preset p : Presets.all()) {
            ParameterCount c = ParameterCount.of(p.config(), PRETRAINING_MODEL);
            assertEquals(c.total(), c.perTensorParallelRank());
            ParameterCount padded = ParameterCount.ofPaddedVocab(p.config(), PRETRAINING_MODEL, 1);
            assertEquals(padded.total(), padded.perTensorParallelRank());
        }
    }

    @Test
    void perRankCountsReplicatedParametersOnEveryRank() {
        for (String name : List.of("bert-large", "megatron-bert-3.9b", "gpt2-medium", "megatron-gpt2-8.3b",
                "turing-nlg-17b", "bert-tiny", "gpt2-tiny")) {
            for (ModelVariant v : ModelVariant.values()) {
                for (int tp : new int[] {2, 4}) {
                    ParameterCount c = ParameterCount.ofPaddedVocab(Presets.get(name), v, tp);
                    long replicated = c.replicatedAcrossTensorParallel();
                    assertEquals(c.total() + (tp - 1) * replicated, tp * c.perTensorParallelRank(), name + " tp " + tp);
                    assertTrue(c.perTensorParallelRank() > c.total() / tp);
                }
            }
        }
    }

    @Test
    void gpt2TinyPerRankByHand() {
        // H 32, I 128, L 2, P 64, padded V 1024 at tp 2.
        // Replicated: positions 64·32 + 2 layers · (LayerNorms 4·32 + two row-parallel biases 2·32) + final LN 2·32
        //           = 2048 + 384 + 64 = 2496.
        // Split: embedding 1024·32 + 2 · (QKV 3·32·32 + 3·32, out 32·32, fc1 32·128 + 128, fc2 128·32)
        //      = 32768 + 2 · 12512 = 57792.
        ParameterCount c = ParameterCount.ofPaddedVocab(Presets.get("gpt2-tiny"), PRETRAINING_MODEL, 2);
        assertEquals(2496, c.replicatedAcrossTensorParallel());
        assertEquals(2496 + 57792, c.total());
        assertEquals(2496 + 57792 / 2, c.perTensorParallelRank());
    }

    @Test
    void bertTinyPerRankByHand() {
        // H 32, I 64, L 2, P 64, T 2, padded V 1024 at tp 2, BertForPreTraining.
        // Replicated: positions 2048 + token types 64 + embedding LN 64 + 2 · (128 + 64) + pooler 32·32 + 32
        //           + MLM transform 32·32 + 3·32 + NSP 2·32 + 2 = 2048 + 64 + 64 + 384 + 1056 + 1120 + 66 = 4802.
        // Split: embedding 32768 + 2 · (3168 + 1024 + 32·64 + 64 + 64·32) + decoder bias 1024
        //      = 32768 + 2 · 8352 + 1024 = 50496.
        ParameterCount c = ParameterCount.ofPaddedVocab(Presets.get("bert-tiny"), PRETRAINING_MODEL, 2);
        assertEquals(4802, c.replicatedAcrossTensorParallel());
        assertEquals(4802 + 50496, c.total());
        assertEquals(4802 + 50496 / 2, c.perTensorParallelRank());
    }

    @Test
    void turingNlgPerRankIsSlightlyAboveTotalOverTp() {
        ParameterCount c = ParameterCount.ofPaddedVocab(Presets.get("turing-nlg-17b"), PRETRAINING_MODEL, 4);
        assertEquals(50688, c.vocabSize());
        assertEquals(17_178_680_064L, c.total());
        assertEquals(4_299_438_864L, c.perTensorParallelRank());
    }

    /** RobertaModel has a pooler, RobertaForMaskedLM none; neither has NSP; one token type. */
    @Test
    void robertaComponents() {
        ParameterCount base = ParameterCount.of(Presets.get("roberta-base"), BASE_MODEL);
        ParameterCount mlm = ParameterCount.of(Presets.get("roberta-base"), PRETRAINING_MODEL);
        assertEquals(590_592, base.pooler());
        assertEquals(0, mlm.pooler());
        assertEquals(768, mlm.tokenTypeEmbeddings());
        assertEquals(514L * 768, mlm.positionEmbeddings());
        assertEquals(2 * 768, mlm.embeddingLayerNorm());
        assertEquals(0, mlm.finalLayerNorm());
        assertEquals(0, mlm.nspClassifier());
        assertEquals(768L * 768 + 3 * 768 + 50265, mlm.heads());
    }

    /** DistilBERT: no token types, no pooler in either variant, BERT-base's layers. */
    @Test
    void distilBertComponents() {
        ParameterCount base = ParameterCount.of(Presets.get("distilbert-base-uncased"), BASE_MODEL);
        ParameterCount mlm = ParameterCount.of(Presets.get("distilbert-base-uncased"), PRETRAINING_MODEL);
        assertEquals(0, base.tokenTypeEmbeddings());
        assertEquals(0, base.pooler());
        assertEquals(0, mlm.pooler());
        assertEquals(7_087_872, mlm.perLayer());
        assertEquals(768L * 768 + 3 * 768 + 30522, mlm.heads());
        assertEquals(0, mlm.nspClassifier());
    }

    @Test
    void hfClassNames() {
        assertEquals("BertModel", BASE_MODEL.hfClassName(Presets.get("bert-base")));
        assertEquals("BertForPreTraining", PRETRAINING_MODEL.hfClassName(Presets.get("bert-base")));
        assertEquals("MegatronBertModel", BASE_MODEL.hfClassName(Presets.get("megatron-bert-336m")));
        assertEquals("MegatronBertForPreTraining", PRETRAINING_MODEL.hfClassName(Presets.get("megatron-bert-336m")));
        assertEquals("GPT2Model", BASE_MODEL.hfClassName(Presets.get("gpt2")));
        assertEquals("GPT2LMHeadModel", PRETRAINING_MODEL.hfClassName(Presets.get("gpt2")));
        assertEquals("RobertaForMaskedLM", PRETRAINING_MODEL.hfClassName(Presets.get("roberta-base")));
        assertEquals("DistilBertForMaskedLM", PRETRAINING_MODEL.hfClassName(Presets.get("distilbert-base-uncased")));
    }

    @Test
    void toStringShowsTheBreakdown() {
        String s = ParameterCount.of(Presets.get("bert-base"), PRETRAINING_MODEL).toString();
        assertTrue(s.startsWith("BertForPreTraining (V=30522, tp=1): total 110,106,428 = embeddings 23,837,184"), s);
    }

    @Test
    void rejectsNulls() {
        assertThrows(NullPointerException.class, () -> ParameterCount.of(null, BASE_MODEL));
        assertThrows(NullPointerException.class, () -> ParameterCount.of(Presets.get("gpt2"), null));
        assertThrows(NullPointerException.class, () -> ParameterCount.ofPaddedVocab(null, BASE_MODEL, 1));
    }
}
