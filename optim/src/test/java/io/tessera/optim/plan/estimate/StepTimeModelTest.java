package io.tessera.optim.plan.estimate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class StepTimeModelTest {

    /** R = 1e12 · 0.5 FLOP/s; both links α = 1e-5 s, β = 1e9 B/s; 8 devices per node. */
    private static final Cluster CLUSTER = new Cluster("test", 1e12, 0.5, 8, new Link(1e-5, 1e9), new Link(1e-5, 1e9));

    private static Layout layout(int layers, int tp, int pp, int dp, int globalBatch, long params, boolean recompute,
            int zero, double overlap) {
        return layout(layers, tp, pp, dp, globalBatch, params, recompute, zero, overlap, 2);
    }

    private static Layout layout(int layers, int tp, int pp, int dp, int globalBatch, long params, boolean recompute,
            int zero, double overlap, int elementBytes) {
        // flopsPerToken 1e9, h 1000, s 100, micro-batch 1, v 1
        return new Layout(1e9, params, layers, 1000, 100, tp, pp, dp, 1, zero, 1, globalBatch, recompute, overlap,
                elementBytes);
    }

    @Test
    void oneLayerTensorParallelStep() {
        Estimate e = StepTimeModel.estimate(layout(1, 2, 1, 1, 1, 1_000_000, false, 0, 0), CLUSTER);
        // compute = 1e9 · 100 / (2 · 5e11) = 0.1; AR(2·1·100·1000 = 2e5 B, 2) = 2e5/1e9 + 2e-5 = 2.2e-4; ×4
        assertEquals(0.1, e.computeSeconds(), 1e-12);
        assertEquals(8.8e-4, e.tensorParallelSeconds(), 1e-12);
        assertEquals(0.10088, e.stepSeconds(), 1e-12);
        assertEquals(1e11 / (0.10088 * 2 * 1e12), e.mfu(), 1e-12);
        assertEquals(100 / 0.10088, e.tokensPerSecond(), 1e-9);
    }

    @Test
    void recomputationAddsAForwardAndTwoAllReduces() {
        Estimate e = StepTimeModel.estimate(layout(1, 2, 1, 1, 1, 1_000_000, true, 0, 0), CLUSTER);
        assertEquals(0.1 * 4 / 3, e.computeSeconds(), 1e-12);
        assertEquals(6 * 2.2e-4, e.tensorParallelSeconds(), 1e-12);
        assertEquals(e.modelTflopsPerDevice() * 4 / 3, e.hardwareTflopsPerDevice(), 1e-12);
    }

    @Test
    void pipelineBubbleIsPMinusOneOverMOfTheIdealStep() {
        Estimate e = StepTimeModel.estimate(layout(4, 1, 4, 1, 8, 1_000_000, false, 0, 0), CLUSTER);
        // compute = 8e11 / (4 · 5e11) = 0.4; send = 8 · 2 · (1e-5 + 2e5/1e9) = 3.36e-3; bubble = 3/8 of ideal
        assertEquals(0.4, e.computeSeconds(), 1e-12);
        assertEquals(3.36e-3, e.pipelineSendSeconds(), 1e-12);
        assertEquals(0.40336 * 3 / 8, e.bubbleSeconds(), 1e-12);
        assertEquals(0.40336 * 11 / 8, e.stepSeconds(), 1e-12);
    }

    @Test
    void dataParallelGradientsOverlapWithBackwardByTheGivenFraction() {
        // dp 2, Ψ = 1e7: G = 2e7 B, AR = 2e7/1e9 + 2e-5 = 0.02002; compute 0.2, backward 0.2 · 2/3
        Estimate none = StepTimeModel.estimate(layout(1, 1, 1, 2, 2, 10_000_000, false, 0, 0), CLUSTER);
        assertEquals(0.02002, none.dataParallelSeconds(), 1e-12);
        assertEquals(0.22002, none.stepSeconds(), 1e-12);
        assertEquals(0.2 / 0.22002, none.weakScalingEfficiency(), 1e-12);
        Estimate partial = StepTimeModel.estimate(layout(1, 1, 1, 2, 2, 10_000_000, false, 0, 0.1), CLUSTER);
        assertEquals(0.02002 - 0.1 * 0.2 * 2 / 3, partial.dataParallelExposedSeconds(), 1e-12);
        Estimate full = StepTimeModel.estimate(layout(1, 1, 1, 2, 2, 10_000_000, false, 0, 1), CLUSTER);
        assertEquals(0, full.dataParallelExposedSeconds());
        assertEquals(0.2, full.stepSeconds(), 1e-12);
        assertEquals(1, full.weakScalingEfficiency(), 1e-12);
    }

    @Test
    void fp32SendsTwiceTheBytesOfFp16() {
        // e = 4: AR(4·1·100·1000 = 4e5 B, 2) = 4e5/1e9 + 2e-5 = 4.2e-4, ×4 per layer
        Estimate tp = StepTimeModel.estimate(layout(1, 2, 1, 1, 1, 1_000_000, false, 0, 0, 4), CLUSTER);
        assertEquals(4 * 4.2e-4, tp.tensorParallelSeconds(), 1e-12);
        // dp 2, Ψ = 1e7: G = 4e7 B, AR = 4e7/1e9 + 2e-5 = 0.04002
        Estimate dp = StepTimeModel.estimate(layout(1, 1, 1, 2, 2, 10_000_000, false, 0, 0, 4), CLUSTER);
        assertEquals(0.04002, dp.dataParallelSeconds(), 1e-12);
        assertEquals(0.24002, dp.stepSeconds(), 1e-12);
    }

    @Test
    void aCpuHostIsOneNodeAtItsMeasuredCeilingAndBusBandwidth() {
        // 2 ranks at 1e11 FLOP/s each (achievable 1), busbw 1e9 B/s, α 0
        Cluster cpu = Cluster.cpu(1e11, 2, new Link(0, 1e9));
        assertEquals(1, cpu.achievable());
        assertEquals(2, cpu.gpusPerNode());
        assertEquals(cpu.intraNode(), cpu.linkFor(2));
        // dp 2, B 2, fp32, Ψ = 1e7: compute = 1e9 · 200 / (2 · 1e11) = 1; AR = 2·(1/2)·4e7/1e9 = 0.04
        Estimate e = StepTimeModel.estimate(layout(1, 1, 1, 2, 2, 10_000_000, false, 0, 0, 4), cpu);
        assertEquals(1.0, e.computeSeconds(), 1e-12);
        assertEquals(0.04, e.dataParallelSeconds(), 1e-12);
        assertEquals(0.04 / 1.04, e.dataParallelExposedSeconds() / e.stepSeconds(), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> Cluster.cpu(0, 2, new Link(0, 1e9)));
    }

    @Test
    void zeroThreeGathersParametersTwice() {
        Estimate e = StepTimeModel.estimate(layout(1, 1, 1, 2, 2, 10_000_000, false, 3, 0), CLUSTER);
        // RS + 2·AG, each 1/2 · 2e7/1e9 + 1e-5
        assertEquals(3 * 0.01001, e.dataParallelSeconds(), 1e-12);
    }

    @Test
    void tensorGroupsLargerThanANodeUseTheInterNodeLink() {
        Cluster slowInter = new Cluster("t", 1e12, 0.5, 1, new Link(0, 1e9), new Link(0, 1e8));
        Estimate e = StepTimeModel.estimate(layout(1, 2, 1, 1, 1, 1_000_000, false, 0, 0), slowInter);
        assertEquals(4 * 2e5 / 1e8, e.tensorParallelSeconds(), 1e-12);
    }

    @Test
    void badLayoutsAndClustersAreRefused() {
        String m = assertThrows(IllegalArgumentException.class,
                () -> layout(3, 1, 2, 1, 8, 1_000_000, false, 0, 0)).getMessage();
        assertTrue(m.contains("layers = 3") && m.contains("pp × virtualStages = 2"), m);
        m = assertThrows(IllegalArgumentException.class, () -> layout(2, 1, 1, 3, 8, 1_000_000, false, 4, 1.5)).getMessage();
        assertTrue(m.contains("globalBatch = 8") && m.contains("zeroStage = 4") && m.contains("dpOverlap = 1.5"), m);
        m = assertThrows(IllegalArgumentException.class, () -> layout(1, 1, 1, 1, 1, 1_000_000, false, 0, 0, 3)).getMessage();
        assertTrue(m.contains("elementBytes = 3") && m.contains("2 (fp16/bf16) or 4 (fp32)"), m);
        m = assertThrows(IllegalArgumentException.class, () -> Cluster.of("a100", 1.5)).getMessage();
        assertTrue(m.contains("--achievable"), m);
        m = assertThrows(IllegalArgumentException.class, () -> Cluster.of("k80", 0.5)).getMessage();
        assertTrue(m.contains("v100, a100, h100"), m);
    }

    @Test
    void namedGpusCarryThePublishedPeaks() {
        assertEquals(125e12, Cluster.of("V100", 1).peakFlops());
        assertEquals(312e12, Cluster.of("a100", 1).peakFlops());
        assertEquals(989e12, Cluster.of("h100", 1).peakFlops());
        assertEquals(25e9, Cluster.of("a100", 1).interNode().bytesPerSecond());
    }

    /** A 10 heads, f 4000, V' 30000, dropouts, mask, BERT head: n = b·A·s² = 1e5 scores per layer. */
    private static final LayerShape SHAPE = new LayerShape(10, 4000, 30000, true, true, true, true);

    /** Softmax 1e-9 s per score, AdamW 1e-8 s per parameter, the rest free. */
    private static final OpCosts COSTS = new OpCosts(java.util.Map.of(OpClass.SOFTMAX, 1e-9, OpClass.ADAMW, 1e-8), "test");

    private static Layout shaped(int pp, int dp, int globalBatch, long params, int zero, double overlap) {
        return new Layout(1e9, params, 4, 1000, 100, 1, pp, dp, 1, zero, 1, globalBatch, false, overlap, 2, SHAPE);
    }

    private static Cluster costed() {
        return new Cluster("test", 1e12, 0.5, 8, new Link(1e-5, 1e9), new Link(1e-5, 1e9), COSTS);
    }

    @Test
    void nonGemmIsTheMicroBatchesElementsAtTheirCostsAndTheOptimizerRunsOncePerStep() {
        // L 4, m = 2: nonGemm = 2 · 4 · 1e5 · 1e-9 = 8e-4; optim = 1e6 · 1e-8 = 0.01; compute = 1e9·200/5e11 = 0.4
        Estimate e = StepTimeModel.estimate(shaped(1, 1, 2, 1_000_000, 0, 0), costed());
        assertEquals(0.4, e.computeSeconds(), 1e-12);
        assertEquals(8e-4, e.nonGemmSeconds(), 1e-15);
        assertEquals(0.01, e.optimizerSeconds(), 1e-15);
        assertEquals(0.4108, e.stepSeconds(), 1e-12);
        Estimate bare = StepTimeModel.estimate(shaped(1, 1, 2, 1_000_000, 0, 0), CLUSTER);
        assertEquals(0, bare.nonGemmSeconds());
        assertEquals(0, bare.optimizerSeconds());
        assertEquals(0.4, bare.stepSeconds(), 1e-12);
    }

    @Test
    void theBubbleScalesTheMicroBatchWorkButNotTheOptimizer() {
        // pp 4, m 8, L/p = 1: compute = 8e11/(4·5e11) = 0.4, nonGemm = 8 · 1e5 · 1e-9 = 8e-4,
        // send = 8 · 2 · (1e-5 + 2e5/1e9) = 3.36e-3; optim = 1e6/4 · 1e-8 = 2.5e-3
        Estimate e = StepTimeModel.estimate(shaped(4, 1, 8, 1_000_000, 0, 0), costed());
        double ideal = 0.4 + 8e-4 + 3.36e-3;
        assertEquals(ideal * 3 / 8, e.bubbleSeconds(), 1e-12);
        assertEquals(ideal * 11 / 8 + 2.5e-3, e.stepSeconds(), 1e-12);
    }

    @Test
    void theBackwardsShareOfNonGemmWorkHidesGradientsAndZeroShardsTheOptimizer() {
        // dp 2, B 2, m 1, Ψ 1e7: AR = 2·(1/2)·2e7/1e9 + 2e-5 = 0.02002; compute = 1e9·200/(2·5e11) = 0.2,
        // nonGemm = 1 · 4 · 1e5 · 1e-9 = 4e-4
        Estimate e = StepTimeModel.estimate(shaped(1, 2, 2, 10_000_000, 1, 0.05), costed());
        assertEquals(4e-4, e.nonGemmSeconds(), 1e-15);
        assertEquals(0.02002 - 0.05 * (0.2 + 4e-4) * 2 / 3, e.dataParallelExposedSeconds(), 1e-12);
        assertEquals(5e6 * 1e-8, e.optimizerSeconds(), 1e-15);           // ZeRO 1: Ψ/d parameters per rank
    }

    @Test
    void opCostsWithoutALayerShapeAreRefused() {
        String m = assertThrows(IllegalArgumentException.class,
                () -> StepTimeModel.estimate(layout(1, 1, 1, 1, 1, 1_000_000, false, 0, 0), costed())).getMessage();
        assertTrue(m.contains("no LayerShape") && m.contains("test"), m);
    }

    @Test
    void pricedScoreProductsLeaveTheComputeTerm() {
        // L 4, s 100, h 1000, B 2: F_qk = 12·100·1000·4·200 = 9.6e8 of F = 2e11; m 2: 2·4·1e5 scores at 1e-9 s
        OpCosts withProducts = new OpCosts(java.util.Map.of(OpClass.SCORE_PRODUCTS, 1e-9), "test");
        Cluster c = new Cluster("test", 1e12, 0.5, 8, new Link(1e-5, 1e9), new Link(1e-5, 1e9), withProducts);
        Estimate e = StepTimeModel.estimate(shaped(1, 1, 2, 1_000_000, 0, 0), c);
        assertEquals((2e11 - 9.6e8) / 5e11, e.computeSeconds(), 1e-12);
        assertEquals(8e-4, e.nonGemmSeconds(), 1e-15);
        assertEquals(e.modelFlops(), 2e11, 1e-3);                          // MFU still counts every FLOP
    }
}
