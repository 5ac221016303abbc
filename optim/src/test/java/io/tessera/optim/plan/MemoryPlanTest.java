package io.tessera.optim.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MemoryPlanTest {

    private static final long GIB = 1L << 30;

    /**
     * Turing-NLG's parameters from its published shape (78 layers, hidden 4256, 28 heads; GPT-2's 50257
     * tokens and 1024 positions): per layer 12H² + 13H, plus token and position embeddings and the final
     * LayerNorm. The models module's {@code ParameterCount} gives the same number for the preset.
     */
    private static final long TURING_NLG_PARAMETERS = turingNlgParameters();

    private static long turingNlgParameters() {
        long h = 4256;
        long layers = 78;
        long vocab = 50257;
        long positions = 1024;
        return layers * (12 * h * h + 13 * h) + vocab * h + positions * h + 2 * h;
    }

    private static MemoryPlan.Builder plan(long psi, int gpus, int stage) {
        return MemoryPlan.builder().setParametersPerRank(psi).setNumHeads(32).setGpus(gpus).setZeroStage(stage);
    }

    private static String error(MemoryPlan.Builder b) {
        return assertThrows(IllegalArgumentException.class, b::build).getMessage();
    }

    private static void assertContainsAll(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), () -> "expected \"" + part + "\" in:\n" + message);
        }
    }

    /** The ZeRO paper's Figure 1: Ψ = 7.5B, Nd = 64, K = 12 gives 120, 31.4, 16.6 and 1.88 GB. */
    @ParameterizedTest(name = "stage {0}")
    @CsvSource({"0, 120000000000", "1, 31406250000", "2, 16640625000", "3, 1875000000"})
    void reproducesTheZeroPapersFigureOne(int stage, long bytes) {
        assertEquals(bytes, plan(7_500_000_000L, 64, stage).build().perGpu().total());
    }

    @ParameterizedTest(name = "stage {0}")
    @CsvSource({"0", "1", "2", "3"})
    void mixedPrecisionComponentsFollowTheFormulas(int stage) {
        long psi = 1_000_000L;
        int nd = 8;
        ModelStateBytes m = plan(psi, nd, stage).build().perGpu();
        assertEquals(2 * (stage >= 3 ? psi / nd : psi), m.parameters());
        assertEquals(2 * (stage >= 2 ? psi / nd : psi), m.gradients());
        assertEquals(12 * (stage >= 1 ? psi / nd : psi), m.optimizerStates());
        assertEquals(m.parameters() + m.gradients() + m.optimizerStates(), m.total());
    }

    @Test
    void fp32UsesFourFourAndEightBytes() {
        long psi = 1_000_000L;
        int nd = 4;
        MemoryPlan.Builder b = plan(psi, nd, 0).optPrecision(TrainingPrecision.FP32);
        assertEquals(16 * psi, b.build().perGpu().total());
        assertEquals(4 * psi + 4 * psi + 8 * psi / nd, b.setZeroStage(1).build().perGpu().total());
        assertEquals(4 * psi + 12 * psi / nd, b.setZeroStage(2).build().perGpu().total());
        assertEquals(16 * psi / nd, b.setZeroStage(3).build().perGpu().total());
        assertEquals(TrainingPrecision.FP32, b.build().precision());
    }

    @Test
    void precisionBytes() {
        assertEquals(2, TrainingPrecision.MIXED_FP16.parameterBytes());
        assertEquals(2, TrainingPrecision.MIXED_FP16.gradientBytes());
        assertEquals(12, TrainingPrecision.MIXED_FP16.optimizerStateBytes());
        assertEquals(16, TrainingPrecision.MIXED_FP16.totalBytes());
        assertEquals(4, TrainingPrecision.FP32.parameterBytes());
        assertEquals(4, TrainingPrecision.FP32.gradientBytes());
        assertEquals(8, TrainingPrecision.FP32.optimizerStateBytes());
        assertEquals(16, TrainingPrecision.FP32.totalBytes());
    }

    @Test
    void partitionsRoundUpToWholeElements() {
        // 10 parameters over 3 data-parallel ranks: each holds ceil(10/3) = 4 elements of each partitioned state.
        ModelStateBytes m = plan(10, 3, 3).build().perGpu();
        assertEquals(2 * 4, m.parameters());
        assertEquals(2 * 4, m.gradients());
        assertEquals(12 * 4, m.optimizerStates());
    }

    @Test
    void oneDataParallelRankPartitionsNothing() {
        long stage0 = plan(123_457, 1, 0).build().perGpu().total();
        for (int stage = 1; stage <= 3; stage++) {
            assertEquals(stage0, plan(123_457, 1, stage).build().perGpu().total());
        }
        assertEquals(16 * 123_457L, stage0);
    }

    @Test
    void layoutGivesTheDataParallelDegree() {
        MemoryPlan p = MemoryPlan.builder().setTotalParameters(8_000_000_001L).setNumHeads(32).setGpus(64)
                .optTensorParallel(2).optPipelineParallel(4).setZeroStage(2).build();
        assertEquals(8, p.dataParallel());
        assertEquals(64, p.gpus());
        assertEquals(2, p.tensorParallel());
        assertEquals(4, p.pipelineParallel());
        assertEquals(32, p.numHeads());
        assertEquals(2, p.zeroStage());
        assertEquals(TrainingPrecision.MIXED_FP16, p.precision());
        // Total over tp · pp = 8 model-parallel ranks, rounded up.
        assertEquals(1_000_000_001L, p.parametersPerRank());
        assertEquals(2 * 1_000_000_001L + 14 * 125_000_001L, p.perGpu().total());
    }

    /**
     * Turing-NLG 17B was trained with ZeRO stage 1 and Megatron tensor parallelism of 4 on 256 V100s
     * of 32 GB: Nd = 64, and 4Ψ + 12Ψ/64 with Ψ = 17.2B / 4 is about 18 GB of model states per GPU.
     */
    @Test
    void turingNlgFitsOn32GbGpusWithZeroStageOne() {
        assertEquals(17_176_845_728L, TURING_NLG_PARAMETERS);
        MemoryPlan.Builder b = MemoryPlan.builder().setTotalParameters(TURING_NLG_PARAMETERS).setNumHeads(28)
                .setGpus(256).optTensorParallel(4).setZeroStage(1);
        MemoryPlan p = b.build();
        assertEquals(64, p.dataParallel());
        assertEquals(4_294_211_432L, p.parametersPerRank());
        ModelStateBytes m = p.perGpu();
        assertEquals(2 * 4_294_211_432L, m.parameters());
        assertEquals(2 * 4_294_211_432L, m.gradients());
        assertEquals(12 * 67_097_054L, m.optimizerStates());
        assertEquals(17_982_010_376L, m.total());
        assertTrue(m.fits(32 * GIB));
        assertTrue(m.fits(32_000_000_000L));

        // Without ZeRO the same layout needs 16Ψ ≈ 68.7 GB per GPU: it does not fit.
        ModelStateBytes baseline = b.setZeroStage(0).build().perGpu();
        assertEquals(16 * 4_294_211_432L, baseline.total());
        assertFalse(baseline.fits(32 * GIB));
    }

    @Test
    void turingNlgStillFitsWithTheExactPerRankCount() {
        // ParameterCount.ofPaddedVocab(turing-nlg-17b, PRETRAINING_MODEL, 4).perTensorParallelRank():
        // replicated LayerNorms, biases and position embeddings on every rank, vocabulary padded to 50688.
        ModelStateBytes m = MemoryPlan.builder().setParametersPerRank(4_299_438_864L).setNumHeads(28).setGpus(256)
                .optTensorParallel(4).setZeroStage(1).build().perGpu();
        assertEquals(4 * 4_299_438_864L + 12 * 67_178_733L, m.total());
        assertTrue(m.fits(32 * GIB));
    }

    @Test
    void gpusMustSplitIntoWholeDataParallelGroups() {
        String m = error(plan(1000, 250, 1).optTensorParallel(4));
        assertContainsAll(m, "gpus = 250", "tensorParallel × pipelineParallel = 4 × 1 = 4", "248 or 252");
        assertContainsAll(error(plan(1000, 6, 1).optTensorParallel(4).optPipelineParallel(2)), "gpus = 6", "= 8",
                "e.g. 8)");
    }

    @Test
    void tensorParallelMustDivideTheHeads() {
        String m = error(MemoryPlan.builder().setTotalParameters(TURING_NLG_PARAMETERS).setNumHeads(28).setGpus(256)
                .optTensorParallel(8).setZeroStage(1));
        assertContainsAll(m, "tensorParallel = 8", "numHeads = 28", "[1, 2, 4, 7, 14, 28]");
    }

    @Test
    void zeroStageMustBeZeroToThree() {
        assertContainsAll(error(plan(1000, 8, 4)), "zeroStage = 4", "0 (none), 1 (optimizer states)");
        assertContainsAll(error(plan(1000, 8, -2)), "zeroStage = -2");
        assertContainsAll(error(MemoryPlan.builder().setParametersPerRank(1000).setNumHeads(32).setGpus(8)),
                "zeroStage is not set");
    }

    @Test
    void exactlyOneParameterCountIsRequired() {
        assertContainsAll(error(MemoryPlan.builder().setNumHeads(32).setGpus(8).setZeroStage(1)),
                "no parameter count", "setParametersPerRank", "setTotalParameters");
        assertContainsAll(error(plan(1000, 8, 1).setTotalParameters(8000)), "both parametersPerRank = 1000",
                "totalParameters = 8000");
        assertContainsAll(error(plan(-5, 8, 1)), "parameter count -5 is negative");
    }

    @Test
    void rejectsNonPositiveLayoutNumbers() {
        assertContainsAll(error(plan(1000, 0, 1)), "gpus = 0");
        assertContainsAll(error(plan(1000, 8, 1).optTensorParallel(0)), "tensorParallel = 0");
        assertContainsAll(error(plan(1000, 8, 1).optPipelineParallel(-1)), "pipelineParallel = -1");
        assertContainsAll(error(plan(1000, 8, 1).setNumHeads(0)), "numHeads = 0");
        assertThrows(NullPointerException.class, () -> MemoryPlan.builder().optPrecision(null));
    }

    @Test
    void rejectsCountsThatWouldOverflow() {
        assertContainsAll(error(plan(Long.MAX_VALUE / 8, 8, 0)), "too large", "overflow");
        // The largest accepted Ψ does not overflow at any stage.
        long psi = Long.MAX_VALUE / 16;
        for (int stage = 0; stage <= 3; stage++) {
            assertTrue(plan(psi, 8, stage).build().perGpu().total() > 0);
        }
    }

    @Test
    void reportsEveryProblemAtOnce() {
        String m = error(MemoryPlan.builder().setGpus(250).optTensorParallel(3).setNumHeads(16).setZeroStage(5));
        assertContainsAll(m, "no parameter count", "zeroStage = 5", "gpus = 250", "numHeads = 16");
    }

    @Test
    void fitsNeedsAPositiveMemorySize() {
        ModelStateBytes m = new ModelStateBytes(1, 2, 3);
        assertEquals(6, m.total());
        assertTrue(m.fits(6));
        assertFalse(m.fits(5));
        assertContainsAll(assertThrows(IllegalArgumentException.class, () -> m.fits(0)).getMessage(),
                "gpuMemoryBytes = 0");
        assertThrows(IllegalArgumentException.class, () -> new ModelStateBytes(-1, 0, 0));
    }

    @Test
    void toStringShowsTheLayoutAndBytes() {
        String s = plan(7_500_000_000L, 64, 1).build().toString();
        assertContainsAll(s, "Nd 64", "ZeRO-1", "MIXED_FP16", "31,406,250,000 B per GPU");
    }
}
