package io.tessera.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Torch;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.nn.Partition;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * AdamW against {@link Reference#adamw}, a double-precision element-by-element transcription of
 * {@code torch.optim.AdamW}'s update written independently in the test: two steps with different
 * gradients and learning rates, ε large enough to matter, decay on the weight only.
 */
class AdamWTest {

    private static NDManager manager;

    @BeforeAll
    static void start() {
        manager = Torch.engine().newBaseManager();
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    static Map<String, Parameter> model() {
        Map<String, Parameter> params = new LinkedHashMap<>();
        params.put("weight", Fixture.parameter(new Shape(2, 3), Fixture.values(0, 6, 0.5), Partition.REPLICATED, true));
        params.put("bias", Fixture.parameter(new Shape(3), Fixture.values(1, 3, 0.1), Partition.REPLICATED, false));
        params.put("gamma", Fixture.parameter(new Shape(3), Fixture.values(2, 3, 0.2), Partition.REPLICATED, false));
        return params;
    }

    static double[] grads(int step, long n) {
        return Fixture.values(10 + 3 * step, n, 1e-3 * (step + 1));
    }

    @Test
    void twoStepsMatchHandComputation() {
        AdamW.Config config = AdamW.Config.builder().beta1(0.8).beta2(0.95).eps(1e-3).weightDecay(0.1).build();
        double[] lrs = {0.01, 0.02};
        try (ParameterBuffer buffer = Fixture.buffer(model(), manager);
             AdamW opt = new AdamW(config, FlatRange.of(buffer), manager)) {
            double[] p = Fixture.read(buffer.params());
            double[] m = new double[p.length];
            double[] v = new double[p.length];
            for (int step = 0; step < 2; step++) {
                double[] g = Fixture.asFloat(grads(step, p.length));
                Fixture.set(buffer.grads(), g);
                opt.step(buffer.params(), buffer.grads(), lrs[step]);
                for (FlatSegment s : opt.range().segments()) {
                    int from = (int) s.offset();
                    int to = (int) s.end();
                    double[] ps = java.util.Arrays.copyOfRange(p, from, to);
                    double[] ms = java.util.Arrays.copyOfRange(m, from, to);
                    double[] vs = java.util.Arrays.copyOfRange(v, from, to);
                    Reference.adamw(ps, java.util.Arrays.copyOfRange(g, from, to), ms, vs, step + 1, lrs[step], 0.8, 0.95,
                            1e-3, s.weightDecay() ? 0.1 : 0);
                    System.arraycopy(ps, 0, p, from, ps.length);
                    System.arraycopy(ms, 0, m, from, ms.length);
                    System.arraycopy(vs, 0, v, from, vs.length);
                }
                assertArrayEquals(p, Fixture.read(buffer.params()), 2e-7, "parameters after step " + (step + 1));
                assertArrayEquals(m, Fixture.read(opt.state().firstMoment()), 1e-9, "m after step " + (step + 1));
                assertArrayEquals(v, Fixture.read(opt.state().secondMoment()), 1e-12, "v after step " + (step + 1));
            }
            assertEquals(2, opt.state().steps());
        }
    }

    @Test
    void firstStepIsSignTimesLearningRateWhenEpsilonIsNegligible() {
        AdamW.Config config = AdamW.Config.builder().eps(1e-12).weightDecay(0).build();
        try (ParameterBuffer buffer = Fixture.buffer(model(), manager);
             AdamW opt = new AdamW(config, FlatRange.of(buffer), manager)) {
            double[] before = Fixture.read(buffer.params());
            double[] g = grads(0, before.length);
            Fixture.set(buffer.grads(), g);
            opt.step(buffer.params(), buffer.grads(), 0.5);
            double[] after = Fixture.read(buffer.params());
            for (int i = 0; i < before.length; i++) {
                assertEquals(before[i] - 0.5 * Math.signum(g[i]), after[i], 1e-5, "element " + i);
            }
        }
    }

    @Test
    void noDecayTensorsAreNotDecayed() {
        AdamW.Config config = AdamW.Config.builder().weightDecay(0.25).build();
        try (ParameterBuffer buffer = Fixture.buffer(model(), manager);
             AdamW opt = new AdamW(config, FlatRange.of(buffer), manager)) {
            double[] before = Fixture.read(buffer.params());
            buffer.zeroGrad();
            opt.step(buffer.params(), buffer.grads(), 0.1);
            double[] after = Fixture.read(buffer.params());
            for (FlatSegment s : opt.range().segments()) {
                double factor = s.weightDecay() ? 1 - 0.1 * 0.25 : 1;
                for (long i = s.offset(); i < s.end(); i++) {
                    assertEquals(before[(int) i] * factor, after[(int) i], 1e-7, s.parameter().name() + " element " + i);
                }
            }
        }
    }

    @Test
    void shardsStepLikeTheWholeRange() {
        AdamW.Config config = AdamW.Config.builder().build();
        try (ParameterBuffer whole = Fixture.buffer(model(), manager);
             ParameterBuffer sharded = Fixture.buffer(model(), manager);
             AdamW all = new AdamW(config, FlatRange.of(whole), manager);
             AdamW first = new AdamW(config, FlatRange.shard(sharded, 3, 0), manager);
             AdamW second = new AdamW(config, FlatRange.shard(sharded, 3, 1), manager);
             AdamW third = new AdamW(config, FlatRange.shard(sharded, 3, 2), manager)) {
            assertTrue(!first.range().segments().get(first.range().segments().size() - 1).complete(),
                    "the first shard must cut the weight for this test to mean anything");
            for (int step = 0; step < 3; step++) {
                double[] g = grads(step, whole.numel());
                Fixture.set(whole.grads(), g);
                Fixture.set(sharded.grads(), g);
                all.step(whole.params(), whole.grads(), 0.01);
                for (AdamW shard : new AdamW[] {first, second, third}) {
                    FlatRange r = shard.range();
                    shard.step(r.view(sharded.params()), r.view(sharded.grads()), 0.01);
                }
            }
            assertArrayEquals(Fixture.read(whole.params()), Fixture.read(sharded.params()), 0);
        }
    }

    @Test
    void rejectsBadConfigAndMismatchedArrays() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AdamW.Config.builder().beta2(1.0).build());
        assertTrue(e.getMessage().contains("beta2 = 1.0") && e.getMessage().contains("[0, 1)"), e.getMessage());
        try (ParameterBuffer buffer = Fixture.buffer(model(), manager)) {
            AdamW opt = new AdamW(AdamW.Config.builder().build(), FlatRange.shard(buffer, 2, 0), manager);
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                    () -> opt.step(buffer.params(), buffer.grads(), 0.1));
            assertTrue(shape.getMessage().contains("FlatRange.view"), shape.getMessage());
            opt.close();
            assertThrows(IllegalStateException.class, () -> opt.step(opt.range().view(buffer.params()),
                    opt.range().view(buffer.grads()), 0.1));
        }
    }

    /**
     * Element-wise within 4 float ulps of {@code max(|expected|, floor)}: libtorch's vector kernels may
     * round an operation differently by an ulp, and {@code p − update} cancels when the two are close,
     * so parameters are compared at the scale of their operands.
     */
    static void assertUlpClose(double[] expected, double[] actual, double floor, String what) {
        assertEquals(expected.length, actual.length, what + ": lengths");
        for (int i = 0; i < expected.length; i++) {
            double ulps = Math.abs(expected[i] - actual[i]) / Math.ulp((float) Math.max(Math.abs(expected[i]), floor));
            assertTrue(ulps <= 4, what + ": element " + i + " is " + actual[i] + ", expected " + expected[i] + " (" + ulps + " ulps)");
        }
    }

    /** 25,930 elements (four chunks of the one-pass update), decayed, not decayed, decayed. */
    static Map<String, Parameter> chunkedModel() {
        Map<String, Parameter> params = new LinkedHashMap<>();
        params.put("weightA", Fixture.parameter(new Shape(150, 130), Fixture.values(3, 19500, 0.01), Partition.REPLICATED, true));
        params.put("biasA", Fixture.parameter(new Shape(130), Fixture.values(4, 130, 0.1), Partition.REPLICATED, false));
        params.put("weightB", Fixture.parameter(new Shape(70, 90), Fixture.values(5, 6300, 0.02), Partition.REPLICATED, true));
        return params;
    }

    /**
     * The one-pass CPU update ({@link AdamWKernel}) and the tensor-op update compute the same fp32
     * operations: over three steps of a range of several chunks, with decay runs that start and end
     * inside chunks, parameters and moments agree to a float's rounding.
     */
    @Test
    void oneProcessPassMatchesTensorOps() {
        AdamW.Config config = AdamW.Config.builder().weightDecay(0.1).build();
        try (ParameterBuffer fusedBuffer = Fixture.buffer(chunkedModel(), manager);
             ParameterBuffer opsBuffer = Fixture.buffer(chunkedModel(), manager);
             AdamW fused = new AdamW(config, FlatRange.of(fusedBuffer), manager);
             AdamW ops = new AdamW(config, FlatRange.of(opsBuffer), manager).fusedCpuUpdate(false)) {
            double[] initial = Fixture.read(fusedBuffer.params());
            for (int step = 0; step < 3; step++) {
                double[] g = Fixture.asFloat(Fixture.values(20 + step, fusedBuffer.numel(), 0.3));
                Fixture.set(fusedBuffer.grads(), g);
                Fixture.set(opsBuffer.grads(), g);
                fused.step(fusedBuffer.params(), fusedBuffer.grads(), 1e-2);
                ops.step(opsBuffer.params(), opsBuffer.grads(), 1e-2);
                assertUlpClose(Fixture.read(opsBuffer.params()), Fixture.read(fusedBuffer.params()), 0.05, "parameters after step " + (step + 1));
                assertUlpClose(Fixture.read(ops.state().firstMoment()), Fixture.read(fused.state().firstMoment()), 0, "m after step " + (step + 1));
                assertUlpClose(Fixture.read(ops.state().secondMoment()), Fixture.read(fused.state().secondMoment()), 0, "v after step " + (step + 1));
            }
            double[] after = Fixture.read(fusedBuffer.params());
            double moved = 0;
            for (int i = 0; i < after.length; i++) {
                moved = Math.max(moved, Math.abs(after[i] - initial[i]));
            }
            assertTrue(moved > 1e-3, "the updates moved the parameters by at most " + moved);
        }
    }
}
