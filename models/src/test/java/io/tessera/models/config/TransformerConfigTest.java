package io.tessera.models.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TransformerConfigTest {

    private static TransformerConfig.Builder bertBase() {
        return TransformerConfig.builder(Architecture.BERT).setVocabSize(30522).setHiddenSize(768).setNumLayers(12)
                .setNumHeads(12).setMaxPositions(512);
    }

    private static TransformerConfig.Builder gpt2Small() {
        return TransformerConfig.builder(Architecture.GPT2).setVocabSize(50257).setHiddenSize(768).setNumLayers(12)
                .setNumHeads(12).setMaxPositions(1024);
    }

    private static String buildError(TransformerConfig.Builder b) {
        return assertThrows(IllegalArgumentException.class, b::build).getMessage();
    }

    private static void assertContainsAll(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "expected \"" + part + "\" in:\n" + message);
        }
    }

    @Test
    void bertDefaultsAreHuggingFaces() {
        TransformerConfig c = bertBase().build();
        assertEquals(Architecture.BERT, c.architecture());
        assertEquals(3072, c.intermediateSize());
        assertEquals(2, c.typeVocabSize());
        assertEquals(1e-12, c.layerNormEps());
        assertEquals(Activation.GELU, c.hiddenAct());
        assertEquals(0.1, c.hiddenDropout());
        assertEquals(0.1, c.attentionDropout());
        assertEquals(0.02, c.initializerRange());
        assertFalse(c.preLayerNorm());
        assertEquals(128, c.makeVocabSizeDivisibleBy());
        assertEquals(64, c.headDim());
    }

    @Test
    void gpt2DefaultsAreHuggingFaces() {
        TransformerConfig c = gpt2Small().build();
        assertEquals(Architecture.GPT2, c.architecture());
        assertEquals(3072, c.intermediateSize());
        assertEquals(0, c.typeVocabSize());
        assertEquals(1e-5, c.layerNormEps());
        assertEquals(Activation.GELU_NEW, c.hiddenAct());
        assertTrue(c.preLayerNorm());
        assertEquals(128, c.makeVocabSizeDivisibleBy());
    }

    @Test
    void optionalSettersOverrideDefaults() {
        TransformerConfig c = bertBase().optIntermediateSize(1000).optTypeVocabSize(1).optLayerNormEps(1e-6)
                .optHiddenAct(Activation.GELU_NEW).optHiddenDropout(0).optAttentionDropout(0.25)
                .optInitializerRange(0.01).optPreLayerNorm(true).optMakeVocabSizeDivisibleBy(64).build();
        assertEquals(1000, c.intermediateSize());
        assertEquals(1, c.typeVocabSize());
        assertEquals(1e-6, c.layerNormEps());
        assertEquals(Activation.GELU_NEW, c.hiddenAct());
        assertEquals(0.0, c.hiddenDropout());
        assertEquals(0.25, c.attentionDropout());
        assertEquals(0.01, c.initializerRange());
        assertTrue(c.preLayerNorm());
        assertEquals(64, c.makeVocabSizeDivisibleBy());
    }

    @Test
    void missingRequiredFieldsAreAllReportedWithTheirSetters() {
        String m = buildError(TransformerConfig.builder(Architecture.BERT));
        assertContainsAll(m, "vocabSize = 0", "setVocabSize", "hiddenSize = 0", "setHiddenSize", "numLayers = 0",
                "setNumLayers", "numHeads = 0", "setNumHeads", "maxPositions = 0", "setMaxPositions");
    }

    @Test
    void negativeSizesAreRejected() {
        assertContainsAll(buildError(bertBase().setNumLayers(-3)), "numLayers = -3", "is negative", "positive");
        assertContainsAll(buildError(bertBase().optIntermediateSize(0)), "intermediateSize = 0", "positive");
    }

    @Test
    void hiddenMustBeDivisibleByHeads() {
        String m = buildError(bertBase().setHiddenSize(770));
        assertContainsAll(m, "hiddenSize = 770", "numHeads = 12", "hiddenSize % numHeads must be 0",
                "[1, 2, 5, 7, 10, 11, 14, 22, 35, 55, 70, 77, 110, 154, 385, 770]");
    }

    @Test
    void defaultIntermediateSizeMustNotOverflow() {
        String m = buildError(bertBase().setHiddenSize(1 << 30).setNumHeads(1));
        assertContainsAll(m, "hiddenSize = 1073741824", "optIntermediateSize");
        bertBase().setHiddenSize(1 << 30).setNumHeads(1).optIntermediateSize(8).build();
    }

    @ParameterizedTest
    @ValueSource(doubles = {1.0, -0.1, 1.5, Double.NaN})
    void dropoutsMustBeProbabilitiesBelowOne(double p) {
        assertContainsAll(buildError(bertBase().optHiddenDropout(p)), "hiddenDropout = " + p, "[0, 1)",
                "optHiddenDropout");
        assertContainsAll(buildError(bertBase().optAttentionDropout(p)), "attentionDropout = " + p, "[0, 1)");
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.0, -1e-5, Double.NaN, Double.POSITIVE_INFINITY})
    void epsilonAndInitializerRangeMustBePositiveAndFinite(double v) {
        assertContainsAll(buildError(bertBase().optLayerNormEps(v)), "layerNormEps = " + v, "> 0");
        assertContainsAll(buildError(bertBase().optInitializerRange(v)), "initializerRange = " + v, "> 0");
    }

    @Test
    void makeVocabSizeDivisibleByMustBePositive() {
        assertContainsAll(buildError(bertBase().optMakeVocabSizeDivisibleBy(0)), "makeVocabSizeDivisibleBy = 0",
                ">= 1");
    }

    @Test
    void familyRulesAreEnforced() {
        assertContainsAll(buildError(bertBase().optTypeVocabSize(0)), "typeVocabSize = 0", "BERT");
        assertContainsAll(buildError(gpt2Small().optTypeVocabSize(2)), "typeVocabSize = 2", "GPT-2",
                "no token-type embeddings");
        assertContainsAll(buildError(gpt2Small().optPreLayerNorm(false)), "preLayerNorm = false", "always pre-LN");
    }

    @Test
    void allProblemsAreReportedAtOnce() {
        String m = buildError(bertBase().setHiddenSize(770).optHiddenDropout(1).optLayerNormEps(0));
        assertContainsAll(m, "invalid BERT TransformerConfig", "hiddenSize = 770", "hiddenDropout = 1.0",
                "layerNormEps = 0.0");
        assertEquals(3, m.split("\n  - ").length - 1, m);
    }

    @Test
    void nullActivationIsRejected() {
        assertThrows(NullPointerException.class, () -> bertBase().optHiddenAct(null));
        assertThrows(NullPointerException.class, () -> TransformerConfig.builder(null));
    }

    @Test
    void paddedVocabFollowsMegatronsRule() {
        TransformerConfig gpt2 = gpt2Small().build();
        assertEquals(50304, gpt2.paddedVocabSize(1));
        assertEquals(50432, gpt2.paddedVocabSize(2));
        // Megatron-LM pads GPT-2's 50257 tokens to 51,200 at 8-way model parallelism.
        assertEquals(51200, gpt2.paddedVocabSize(8));
        assertEquals(30592, bertBase().build().paddedVocabSize(1));
        assertEquals(1024, bertBase().setVocabSize(1024).build().paddedVocabSize(4));
        assertEquals(30522, bertBase().optMakeVocabSizeDivisibleBy(1).build().paddedVocabSize(1));
    }

    @Test
    void paddedVocabIsTheSmallestMultipleAtOrAboveTheVocabulary() {
        for (int vocab : new int[] {1, 127, 128, 129, 1000, 30522, 50257}) {
            for (int m : new int[] {1, 8, 128}) {
                TransformerConfig c = bertBase().setVocabSize(vocab).optMakeVocabSizeDivisibleBy(m).build();
                for (int tp = 1; tp <= 16; tp++) {
                    int padded = c.paddedVocabSize(tp);
                    int multiple = m * tp;
                    assertEquals(0, padded % multiple);
                    assertTrue(padded >= vocab && padded - vocab < multiple,
                            vocab + " padded to " + padded + " for multiple " + multiple);
                }
            }
        }
    }

    @Test
    void paddedVocabRejectsBadDegreesAndOverflow() {
        TransformerConfig c = bertBase().build();
        assertContainsAll(assertThrows(IllegalArgumentException.class, () -> c.paddedVocabSize(0)).getMessage(),
                "tensorParallel = 0", ">= 1");
        TransformerConfig huge = bertBase().setVocabSize(Integer.MAX_VALUE - 1).build();
        assertContainsAll(assertThrows(IllegalArgumentException.class, () -> huge.paddedVocabSize(2)).getMessage(),
                "exceeds " + Integer.MAX_VALUE, "128 × 2");
    }

    @Test
    void validateForAcceptsDivisorsOfHeadsHiddenAndMlp() {
        TransformerConfig c = bertBase().setHiddenSize(1024).setNumHeads(16).build();
        for (int tp : new int[] {1, 2, 4, 8, 16}) {
            c.validateFor(tp);
        }
    }

    @Test
    void validateForNamesEveryNumberThatDoesNotDivide() {
        TransformerConfig c = bertBase().setHiddenSize(1024).setNumHeads(16).build();
        String m = assertThrows(IllegalArgumentException.class, () -> c.validateFor(3)).getMessage();
        assertContainsAll(m, "tensorParallel = 3", "numHeads = 16", "hiddenSize = 1024", "intermediateSize = 4096",
                "[1, 2, 4, 8, 16]");
    }

    @Test
    void validateForReportsOnlyTheFailingDimension() {
        // Heads and hidden split 4 ways, the MLP's 1026 does not.
        TransformerConfig c = bertBase().optIntermediateSize(1026).build();
        String m = assertThrows(IllegalArgumentException.class, () -> c.validateFor(4)).getMessage();
        assertContainsAll(m, "intermediateSize = 1026 is not divisible by tensorParallel = 4", "[1, 2, 3, 6]");
        assertFalse(m.contains("numHeads = 12 is not"), m);
        assertFalse(m.contains("hiddenSize = 768 is not"), m);
    }

    @Test
    void validateForTuringNlgShape() {
        TransformerConfig tnlg = TransformerConfig.builder(Architecture.GPT2).setVocabSize(50257).setHiddenSize(4256)
                .setNumLayers(78).setNumHeads(28).setMaxPositions(1024).build();
        tnlg.validateFor(4);
        String m = assertThrows(IllegalArgumentException.class, () -> tnlg.validateFor(8)).getMessage();
        assertContainsAll(m, "numHeads = 28", "tensorParallel = 8", "[1, 2, 4, 7, 14, 28]");
        assertContainsAll(assertThrows(IllegalArgumentException.class, () -> tnlg.validateFor(0)).getMessage(),
                "tensorParallel = 0");
    }

    @Test
    void equalsHashCodeAndToBuilder() {
        TransformerConfig a = bertBase().build();
        TransformerConfig b = bertBase().build();
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertEquals(a, a.toBuilder().build());
        List<UnaryOperator<TransformerConfig.Builder>> changes = List.of(
                x -> x.setVocabSize(30523), x -> x.setHiddenSize(1536), x -> x.setNumLayers(11),
                x -> x.setNumHeads(6), x -> x.optIntermediateSize(3000), x -> x.setMaxPositions(256),
                x -> x.optTypeVocabSize(3), x -> x.optLayerNormEps(1e-5), x -> x.optHiddenAct(Activation.GELU_NEW),
                x -> x.optHiddenDropout(0), x -> x.optAttentionDropout(0), x -> x.optInitializerRange(0.01),
                x -> x.optPreLayerNorm(true), x -> x.optMakeVocabSizeDivisibleBy(64));
        for (UnaryOperator<TransformerConfig.Builder> change : changes) {
            TransformerConfig changed = change.apply(a.toBuilder()).build();
            assertNotEquals(a, changed, changed.toString());
        }
        assertNotEquals(a, gpt2Small().build());
        assertEquals(bertBase().build(), a, "toBuilder must not change the original");
    }

    @Test
    void toBuilderKeepsAnExplicitIntermediateSizeWhenHiddenChanges() {
        TransformerConfig a = bertBase().build();
        assertEquals(3072, a.toBuilder().setHiddenSize(1536).build().intermediateSize());
    }

    @Test
    void toStringNamesTheFields() {
        String s = gpt2Small().build().toString();
        assertTrue(s.contains("GPT2") && s.contains("hiddenSize=768") && s.contains("hiddenAct=gelu_new"), s);
    }

    @Test
    void activationsRoundTripTheirHuggingFaceNames() {
        for (Activation a : Activation.values()) {
            assertEquals(a, Activation.fromHfName(a.hfName()));
        }
        String m = assertThrows(IllegalArgumentException.class, () -> Activation.fromHfName("relu")).getMessage();
        assertContainsAll(m, "\"relu\"", "[\"gelu\", \"gelu_new\"]");
    }
}
