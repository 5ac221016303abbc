package io.tessera.models.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PresetsTest {

    @Test
    void namesAreStableAndComplete() {
        assertEquals(List.of("bert-base", "bert-large", "megatron-bert-336m", "megatron-bert-1.3b",
                "megatron-bert-3.9b", "gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", "megatron-gpt2-8.3b",
                "turing-nlg-17b", "gpt3-175b", "mt-nlg-530b", "bert-tiny", "gpt2-tiny", "bert-mini", "gpt2-mini", "roberta-base", "roberta-large",
                "distilbert-base-uncased", "roberta-tiny", "distilbert-tiny", "albert-base-v2", "albert-large-v2",
                "albert-xxlarge-v2", "albert-tiny"), Presets.names());
        assertEquals(Presets.names().size(), Presets.all().size());
        for (int i = 0; i < Presets.all().size(); i++) {
            assertEquals(Presets.names().get(i), Presets.all().get(i).name());
        }
    }

    @Test
    void lookupIgnoresCaseAndSurroundingBlanks() {
        assertSame(Presets.get("gpt2-xl"), Presets.get("GPT2-XL"));
        assertSame(Presets.get("bert-base"), Presets.get("  Bert-Base "));
        assertSame(Presets.preset("turing-nlg-17b"), Presets.preset("Turing-NLG-17B"));
    }

    @Test
    void unknownNamesListTheKnownOnes() {
        String m = assertThrows(IllegalArgumentException.class, () -> Presets.get("bert-huge")).getMessage();
        assertTrue(m.contains("\"bert-huge\""), m);
        for (String name : Presets.names()) {
            assertTrue(m.contains(name), m);
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Presets.get(null)).getMessage()
                .contains("known presets"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        // name,              arch, V,     H,    L,  A,  I,     P,    preLN, eps
        "bert-base,           BERT, 30522, 768,  12, 12, 3072,  512,  false, 1e-12",
        "bert-large,          BERT, 30522, 1024, 24, 16, 4096,  512,  false, 1e-12",
        "megatron-bert-336m,  BERT, 30522, 1024, 24, 16, 4096,  512,  true,  1e-5",
        "megatron-bert-1.3b,  BERT, 30522, 2048, 24, 32, 8192,  512,  true,  1e-5",
        "megatron-bert-3.9b,  BERT, 30522, 2560, 48, 40, 10240, 512,  true,  1e-5",
        "gpt2,                GPT2, 50257, 768,  12, 12, 3072,  1024, true,  1e-5",
        "gpt2-medium,         GPT2, 50257, 1024, 24, 16, 4096,  1024, true,  1e-5",
        "gpt2-large,          GPT2, 50257, 1280, 36, 20, 5120,  1024, true,  1e-5",
        "gpt2-xl,             GPT2, 50257, 1600, 48, 25, 6400,  1024, true,  1e-5",
        "megatron-gpt2-8.3b,  GPT2, 50257, 3072, 72, 32, 12288, 1024, true,  1e-5",
        "turing-nlg-17b,      GPT2, 50257, 4256, 78, 28, 17024, 1024, true,  1e-5",
        "gpt3-175b,           GPT2, 50257, 12288, 96, 96, 49152, 2048, true, 1e-5",
        "mt-nlg-530b,         GPT2, 50257, 20480, 105, 128, 81920, 2048, true, 1e-5",
        "bert-tiny,           BERT, 1000,  32,   2,  4,  64,    64,   false, 1e-12",
        "gpt2-tiny,           GPT2, 1000,  32,   2,  4,  128,   64,   true,  1e-5",
        "roberta-base,        ROBERTA, 50265, 768,  12, 12, 3072, 514, false, 1e-5",
        "roberta-large,       ROBERTA, 50265, 1024, 24, 16, 4096, 514, false, 1e-5",
        "distilbert-base-uncased, DISTILBERT, 30522, 768, 6, 12, 3072, 512, false, 1e-12",
        "roberta-tiny,        ROBERTA, 1000,  32,   2,  4,  64,    66,   false, 1e-5",
        "distilbert-tiny,     DISTILBERT, 1000, 32, 2,  4,  64,    64,   false, 1e-12",
    })
    void shapesAreThePublishedOnes(String name, Architecture arch, int vocab, int hidden, int layers, int heads,
            int inner, int positions, boolean preLn, double eps) {
        TransformerConfig c = Presets.get(name);
        assertEquals(arch, c.architecture());
        assertEquals(vocab, c.vocabSize());
        assertEquals(hidden, c.hiddenSize());
        assertEquals(layers, c.numLayers());
        assertEquals(heads, c.numHeads());
        assertEquals(inner, c.intermediateSize());
        assertEquals(positions, c.maxPositions());
        assertEquals(preLn, c.preLayerNorm());
        assertEquals(eps, c.layerNormEps());
        assertEquals(arch == Architecture.GPT2 ? Activation.GELU_NEW : Activation.GELU, c.hiddenAct());
        assertEquals(arch == Architecture.BERT ? 2 : arch == Architecture.ROBERTA ? 1 : 0, c.typeVocabSize());
        assertEquals(arch == Architecture.ROBERTA ? 1 : 0, c.padTokenId());
        assertEquals(0.1, c.hiddenDropout());
        assertEquals(0.1, c.attentionDropout());
        assertEquals(0.02, c.initializerRange());
        assertEquals(128, c.makeVocabSizeDivisibleBy());
    }

    @Test
    void largeModelsSplitOverThePublishedTensorParallelDegrees() {
        // Megatron-LM trained GPT-2 8.3B with 8-way model parallelism; T-NLG with 4-way.
        Presets.get("megatron-gpt2-8.3b").validateFor(8);
        assertEquals(51200, Presets.get("megatron-gpt2-8.3b").paddedVocabSize(8));
        Presets.get("turing-nlg-17b").validateFor(4);
        // Megatron-LM 2021 ran GPT-3 175B at tp 8 (with pp 8 or 16); MT-NLG 530B ran at tp 8 × pp 35.
        Presets.get("gpt3-175b").validateFor(8);
        Presets.get("mt-nlg-530b").validateFor(8);
        assertEquals(0, Presets.get("mt-nlg-530b").numLayers() % 35, "35 pipeline stages of 3 layers");
        for (String name : List.of("megatron-bert-336m", "megatron-bert-1.3b", "megatron-bert-3.9b")) {
            Presets.get(name).validateFor(8);
        }
    }

    @Test
    void tinyPresetsAreTinyAndSplitForTests() {
        for (String name : List.of("bert-tiny", "gpt2-tiny", "roberta-tiny", "distilbert-tiny")) {
            Preset p = Presets.preset(name);
            assertFalse(p.publishedParameters().isPresent());
            assertTrue(ParameterCount.of(p.config(), ModelVariant.PRETRAINING_MODEL).total() < 100_000);
            for (int tp : new int[] {1, 2, 4}) {
                p.config().validateFor(tp);
                assertEquals(1024, p.config().paddedVocabSize(tp));
            }
        }
    }

    @Test
    void publishedSizesAreWithinAFewPercentOfTheExactCount() {
        for (Preset p : Presets.all()) {
            if (p.publishedParameters().isEmpty()) {
                continue;
            }
            long published = p.publishedParameters().getAsLong();
            long exact = ParameterCount.of(p.config(), ModelVariant.PRETRAINING_MODEL).total();
            double relative = Math.abs(exact - published) / (double) published;
            // GPT-2's paper figures run 1-6.4% low (see ParameterCountTest); ALBERT's paper rounds base and
            // large up (1.6%, 0.9%) and gives xxlarge 5% above its count (PARAMETER_COUNTS.md); the rest is within 1.5%.
            double tolerance = p.name().startsWith("gpt2") ? 0.065 : p.name().startsWith("albert") ? 0.055 : 0.015;
            assertTrue(relative < tolerance, p.name() + ": exact " + exact + " vs published " + published);
            assertFalse(p.source().isBlank());
        }
    }

    @Test
    void presetRejectsNulls() {
        TransformerConfig c = Presets.get("gpt2");
        assertThrows(NullPointerException.class, () -> new Preset(null, c, OptionalLong.empty(), "s"));
        assertThrows(NullPointerException.class, () -> new Preset("n", null, OptionalLong.empty(), "s"));
        assertThrows(NullPointerException.class, () -> new Preset("n", c, null, "s"));
        assertThrows(NullPointerException.class, () -> new Preset("n", c, OptionalLong.empty(), null));
    }
}
