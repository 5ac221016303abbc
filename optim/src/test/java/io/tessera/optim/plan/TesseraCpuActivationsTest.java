package io.tessera.optim.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.core.gemm.GemmBackend;
import io.tessera.optim.plan.ActivationMemory.Recompute;
import io.tessera.optim.plan.TesseraCpuActivations.Products;
import io.tessera.parallel.pipeline.ScheduleKind;
import io.tessera.parallel.tensor.Gelu;
import org.junit.jupiter.api.Test;

/**
 * The Tessera CPU fp32 accounting on hand-computed cases (s 256, b 2, h 256, a 4: U = 4·s·b·h = 0.5 MiB,
 * r = a·s/h = 4); {@code ActivationMemoryMeasuredTest} in {@code train} checks the same cases against
 * resident memory.
 */
class TesseraCpuActivationsTest {

    private static final double U = 4.0 * 256 * 2 * 256;

    private static ActivationMemory shape(int t, Recompute r) {
        return new ActivationMemory(256, 2, 256, 4, 2, t, 1, 1, 1, ScheduleKind.ONE_F_ONE_B, false, r);
    }

    @Test
    void perLayerBytesFollowTheTerms() {
        // BERT, libtorch products, no dropout, no mask: 8 + (19 + 4)/1 = 31 tensors, scores 4·3 = 12: 43 U
        assertEquals(43 * U, new TesseraCpuActivations(shape(1, Recompute.NONE), Gelu.EXACT, false, false, false,
                Products.LIBTORCH_NODES).perLayerBytes(), 1e-6);
        // with dropout: + 4 (hidden: two outputs, two fp32 masks) + 4·2 (attention: output and mask) = 55 U
        assertEquals(55 * U, new TesseraCpuActivations(shape(1, Recompute.NONE), Gelu.EXACT, false, true, true,
                Products.LIBTORCH_NODES).perLayerBytes(), 1e-6);
        // GPT-2, separate products, dropout, causal mask: 8 + 12 + 32 = 52, scores 4·(3 + 1 + 2) = 24, hidden dropout 4: 80 U
        assertEquals(80 * U, new TesseraCpuActivations(shape(1, Recompute.NONE), Gelu.TANH, true, true, true,
                Products.SEPARATE_NODES).perLayerBytes(), 1e-6);
        // BERT at t 2, separate products, dropout: 8 + 2 + (12 + 4)/2 = 18, scores 4/2·(3 + 2) = 10, hidden 4: 32 U per rank
        assertEquals(32 * U, new TesseraCpuActivations(shape(2, Recompute.NONE), Gelu.EXACT, false, true, true,
                Products.SEPARATE_NODES).perLayerBytes(), 1e-6);
    }

    @Test
    void checkpointedBlocksKeepTheirOutputsAndTheResidualNodes() {
        // libtorch: 8 + 4 (hidden dropout) = 12 U; separate products without dropout: 8 + 4/1 = 12 U; at t 2: 8 + 2 + 2 = 12 U
        assertEquals(12 * U, new TesseraCpuActivations(shape(1, Recompute.FULL), Gelu.EXACT, false, true, true,
                Products.LIBTORCH_NODES).perLayerBytes(), 1e-6);
        assertEquals(12 * U, new TesseraCpuActivations(shape(1, Recompute.FULL), Gelu.TANH, true, false, false,
                Products.SEPARATE_NODES).perLayerBytes(), 1e-6);
        assertEquals(12 * U, new TesseraCpuActivations(shape(2, Recompute.FULL), Gelu.EXACT, false, false, false,
                Products.SEPARATE_NODES).perLayerBytes(), 1e-6);
    }

    @Test
    void aStageHoldsWhatItsScheduleKeepsInFlight() {
        ActivationMemory gpipe = new ActivationMemory(256, 2, 256, 4, 4, 1, 2, 1, 3, ScheduleKind.GPIPE, false, Recompute.NONE);
        TesseraCpuActivations a = new TesseraCpuActivations(gpipe, Gelu.EXACT, false, false, false, Products.LIBTORCH_NODES);
        assertEquals(43 * U * 2 * 3, a.bytes(), 1e-6);                     // 2 layers per stage × 3 micro-batches
        assertTrue(a.describe().contains("Tessera CPU fp32") && a.describe().contains("22.5 MB per layer and micro-batch × 6.0 held"),
                a.describe());
    }

    @Test
    void productsFollowTheGemmStrategyAndUncoveredModesAreRefused() {
        assertEquals(Products.LIBTORCH_NODES, Products.of(GemmBackend.LIBTORCH.create()));
        String m = assertThrows(IllegalArgumentException.class, () -> new TesseraCpuActivations(shape(1, Recompute.SELECTIVE),
                Gelu.EXACT, false, false, false, Products.LIBTORCH_NODES)).getMessage();
        assertTrue(m.contains("no selective recomputation"), m);
        ActivationMemory sp = new ActivationMemory(256, 2, 256, 4, 2, 2, 1, 1, 1, ScheduleKind.ONE_F_ONE_B, true, Recompute.NONE);
        m = assertThrows(IllegalArgumentException.class, () -> new TesseraCpuActivations(sp, Gelu.EXACT, false, false, false,
                Products.LIBTORCH_NODES)).getMessage();
        assertTrue(m.contains("--sequence-parallel"), m);
    }
}
