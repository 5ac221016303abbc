package io.tessera.optim.plan.estimate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NonGemmWorkTest {

    /** b 1, s 2, h 4, L 1, the given tp; Ψ 1000, d 2, ZeRO as given. */
    private static Layout layout(int tp, int zero, LayerShape shape) {
        return new Layout(1e9, 1000, 1, 4, 2, tp, 1, 2, 1, zero, 1, 2, false, 0, 4, shape);
    }

    /** A 2 heads, f 8, V' 10, every dropout, a mask, BERT's MLM head. */
    private static final LayerShape BERT = new LayerShape(2, 8, 10, true, true, true, true);

    @Test
    void oneRankCountsEveryClassOfALayerItsEmbeddingsAndHead() {
        Map<OpClass, Double> e = NonGemmWork.perMicroBatch(layout(1, 0, BERT), BERT);
        // T = 2, T·h = 8, scores n = 1·2·2² = 8, table V'·h = 40, logits T·V' = 20
        assertEquals(8, e.get(OpClass.SCORE_PRODUCTS));
        assertEquals(8, e.get(OpClass.SCALE));
        assertEquals(8, e.get(OpClass.MASK));
        assertEquals(8, e.get(OpClass.SOFTMAX));
        assertEquals(8 + 2 * 8 + 8, e.get(OpClass.DROPOUT));           // probabilities, 2 residual branches, embeddings
        assertEquals(4 * 8, e.get(OpClass.HEADS));
        assertEquals((3 * 4 + 8) * 2 + 2 * 8 + 8 + 20, e.get(OpClass.BIAS)); // q,k,v,fc; out, proj; transform; decoder
        assertEquals(2 * 8 + 8, e.get(OpClass.GELU));                   // MLP (T·f) and transform (T·h)
        assertEquals(2 * 8 + 8 + 8, e.get(OpClass.LAYER_NORM));         // 2 per layer, embeddings, transform
        assertEquals(8 * 8 + 2 * 8, e.get(OpClass.ADD));                // layer; embedding sums
        assertEquals(40, e.get(OpClass.EMBEDDING));
        assertEquals(40, e.get(OpClass.ACCUMULATE));                    // the table gradient into the flat buffer
        assertEquals(20, e.get(OpClass.CROSS_ENTROPY));
        EnumMap<OpClass, Double> ones = new EnumMap<>(OpClass.class);
        for (OpClass c : OpClass.values()) {
            ones.put(c, 1.0);
        }
        assertEquals(392 - 40 + 16 + 40 + 8, NonGemmWork.seconds(e, new OpCosts(ones, "ones")), 1e-12);
    }

    @Test
    void tensorParallelismDividesTheSplitPartsOnly() {
        Map<OpClass, Double> e = NonGemmWork.perMicroBatch(layout(2, 0, BERT), BERT);
        assertEquals(4, e.get(OpClass.SOFTMAX));                        // 1 head of 2 per rank
        assertEquals(4 * 8 / 2.0, e.get(OpClass.HEADS));
        assertEquals((3 * 4 + 8) * 2 / 2.0 + 2 * 8 + 8 + 10, e.get(OpClass.BIAS));
        assertEquals(2 * 8 + 8 + 8, e.get(OpClass.LAYER_NORM));         // replicated
        assertEquals(20, e.get(OpClass.EMBEDDING));
        assertEquals(10, e.get(OpClass.CROSS_ENTROPY));
    }

    @Test
    void noDropoutNoMaskAndGpt2sHeadDropTheirTerms() {
        LayerShape gpt = new LayerShape(2, 8, 10, false, false, false, false);
        Map<OpClass, Double> e = NonGemmWork.perMicroBatch(layout(1, 0, gpt), gpt);
        assertEquals(0, e.get(OpClass.MASK));
        assertEquals(0, e.get(OpClass.DROPOUT));
        assertEquals((3 * 4 + 8) * 2 + 2 * 8, e.get(OpClass.BIAS));    // no transform, no decoder bias
        assertEquals(2 * 8, e.get(OpClass.GELU));
        assertEquals(2 * 8 + 8 + 8, e.get(OpClass.LAYER_NORM));         // final LayerNorm in place of the transform's
    }

    @Test
    void scoreProductFlopsAreTwelveSHPerTokenAndLayer() {
        // s 2, h 4, L 1, B 2: 12·2·4·1·2·2
        assertEquals(384, NonGemmWork.scoreProductFlops(layout(1, 0, BERT)));
    }

    @Test
    void theOptimizerUpdatesTheRanksShardDividedByDpWithZero() {
        assertEquals(1000 / 2.0, NonGemmWork.perStep(layout(2, 0, BERT)).get(OpClass.ADAMW));
        assertEquals(1000 / 4.0, NonGemmWork.perStep(layout(2, 1, BERT)).get(OpClass.ADAMW));
    }

    @Test
    void badShapesAndCostsAreRefused() {
        String m = assertThrows(IllegalArgumentException.class, () -> new LayerShape(0, 8, 10, true, true, true, true))
                .getMessage();
        assertTrue(m.contains("heads = 0"), m);
        m = assertThrows(IllegalArgumentException.class, () -> layout(4, 0, BERT)).getMessage();
        assertTrue(m.contains("divisible by tp = 4"), m);
        m = assertThrows(IllegalArgumentException.class, () -> new OpCosts(Map.of(OpClass.GELU, -1.0), "x")).getMessage();
        assertTrue(m.contains("gelu") && m.contains("bench ops"), m);
        assertEquals(OpClass.LAYER_NORM, OpClass.ofKey("Layer_Norm"));
        m = assertThrows(IllegalArgumentException.class, () -> OpClass.ofKey("conv")).getMessage();
        assertTrue(m.contains("\"conv\"") && m.contains("cross_entropy"), m);
    }
}
