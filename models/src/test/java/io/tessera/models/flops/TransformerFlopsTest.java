package io.tessera.models.flops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.models.config.Architecture;
import io.tessera.models.config.Presets;
import org.junit.jupiter.api.Test;

/** The FLOP formula against a hand computation and against Megatron-LM's closed form. */
class TransformerFlopsTest {

    /**
     * BERT-base-shaped, 2 layers, batch 8, seq 128 (h 768, f 3072, V 30522), by hand:
     *
     * <pre>
     *   layer/token   8·768² + 4·128·768 + 4·768·3072 = 4 718 592 + 393 216 + 9 437 184 = 14 548 992
     *   head/token    2·768·30522 + 2·768² = 46 881 792 + 1 179 648 = 48 061 440
     *   forward       1024·2·14 548 992 + 1024·48 061 440 = 29 796 335 616 + 49 214 914 560 = 79 011 250 176
     *   step          3 · 79 011 250 176 = 237 033 750 528
     * </pre>
     */
    @Test
    void bertBaseTwoLayersMatchesHandComputation() {
        ModelShape s = new ModelShape(Architecture.BERT, 768, 2, 12, 3072, 128, 30522, 8, 128);
        assertEquals(14_548_992.0, TransformerFlops.layerForwardPerToken(s));
        assertEquals(48_061_440.0, TransformerFlops.headForwardPerPredictedToken(s));
        assertEquals(79_011_250_176.0, TransformerFlops.forwardPerStep(s));
        assertEquals(237_033_750_528.0, TransformerFlops.trainingStep(s));
        assertEquals(237_033_750_528.0 / 1024, TransformerFlops.trainingPerToken(s));
    }

    @Test
    void presetShapeTakesConfigNumbers() {
        ModelShape s = ModelShape.of(Presets.get("bert-base").toBuilder().setNumLayers(2).build(), 8, 128);
        assertEquals(new ModelShape(Architecture.BERT, 768, 2, 12, 3072, 128, 30522, 8, 128), s);
        assertEquals(237_033_750_528.0, TransformerFlops.trainingStep(s));
    }

    @Test
    void gptWithFourHMlpEqualsMegatronClosedForm() {
        int[][] configs = {{8, 1024, 12, 768, 50257}, {4, 1024, 24, 1024, 50257}, {1, 2048, 72, 3072, 51200},
            {16, 128, 2, 64, 1000}};
        for (int[] c : configs) {
            int b = c[0];
            int s = c[1];
            int l = c[2];
            int h = c[3];
            int v = c[4];
            ModelShape shape = new ModelShape(Architecture.GPT2, h, l, 1, 4 * h, s, v, b, s);
            double ours = TransformerFlops.trainingStep(shape);
            double megatron = TransformerFlops.megatronGpt(b, s, l, h, v);
            assertEquals(megatron, ours, 1e-12 * megatron, "B=" + b + " s=" + s + " L=" + l + " h=" + h + " V=" + v);
        }
    }

    @Test
    void bertAddsOnlyTheMlmTransformToGpt() {
        ModelShape bert = new ModelShape(Architecture.BERT, 64, 2, 4, 256, 32, 1000, 4, 32);
        ModelShape gpt = new ModelShape(Architecture.GPT2, 64, 2, 4, 256, 32, 1000, 4, 32);
        assertEquals(3.0 * 4 * 32 * 2 * 64 * 64, TransformerFlops.trainingStep(bert) - TransformerFlops.trainingStep(gpt));
    }

    @Test
    void predictedPositionsScaleOnlyTheHead() {
        ModelShape all = new ModelShape(Architecture.BERT, 64, 2, 4, 256, 32, 1000, 4, 32);
        ModelShape none = new ModelShape(Architecture.BERT, 64, 2, 4, 256, 32, 1000, 4, 0);
        assertEquals(3.0 * 4 * 32 * (2 * 64 * 1000 + 2 * 64 * 64),
                TransformerFlops.trainingStep(all) - TransformerFlops.trainingStep(none));
    }

    @Test
    void teraflopsDividesByTime() {
        ModelShape s = new ModelShape(Architecture.BERT, 768, 2, 12, 3072, 128, 30522, 8, 128);
        assertEquals(0.237033750528, TransformerFlops.teraflopsPerSecond(s, 1.0), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> TransformerFlops.teraflopsPerSecond(s, 0));
    }

    @Test
    void invalidShapeNamesEveryField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ModelShape(Architecture.GPT2, 100, 0, 3, 400, 16, 1000, 1, 17));
        assertTrue(e.getMessage().contains("layers = 0"), e.getMessage());
        assertTrue(e.getMessage().contains("predictedPerSequence = 17"), e.getMessage());
        assertTrue(e.getMessage().contains("hidden = 100 is not divisible by heads = 3"), e.getMessage());
    }
}
