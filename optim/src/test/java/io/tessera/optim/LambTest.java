package io.tessera.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.tessera.core.Torch;
import io.tessera.core.nn.ParameterBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * LAMB against {@link Reference#lamb}: the test computes the LAMB formula of You et al. (2019, NVIDIA
 * variant) in plain Java doubles, element by element and tensor by tensor, independently of the NDArray
 * code, and compares two steps. The model has a decayed weight, a bias and a LayerNorm gain (no decay,
 * not adapted by default) and an all-zero decayed weight (‖p‖ = 0, trust ratio 1).
 */
class LambTest {

    private static NDManager manager;

    @BeforeAll
    static void start() {
        manager = Torch.engine().newBaseManager();
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    @Test
    void twoStepsMatchHandComputation() {
        checkAgainstReference(false);
    }

    @Test
    void twoStepsMatchHandComputationWhenNoDecayTensorsAreAdapted() {
        checkAgainstReference(true);
    }

    private void checkAgainstReference(boolean adaptNoDecay) {
        Lamb.Config config = Lamb.Config.builder().beta1(0.85).beta2(0.99).eps(1e-4).weightDecay(0.1)
                .adaptNoDecay(adaptNoDecay).build();
        double[] lrs = {0.05, 0.02};
        try (ParameterBuffer buffer = Fixture.buffer(Fixture.model(), manager);
             Lamb opt = new Lamb(config, FlatRange.of(buffer), manager)) {
            double[] p = Fixture.read(buffer.params());
            double[] m = new double[p.length];
            double[] v = new double[p.length];
            for (int step = 0; step < 2; step++) {
                double[] g = Fixture.asFloat(Fixture.grads(step, p.length));
                Fixture.set(buffer.grads(), g);
                opt.step(buffer.params(), buffer.grads(), lrs[step]);
                for (FlatSegment s : opt.range().segments()) {
                    int from = (int) s.offset();
                    int to = (int) s.end();
                    double[] ps = Arrays.copyOfRange(p, from, to);
                    double[] ms = Arrays.copyOfRange(m, from, to);
                    double[] vs = Arrays.copyOfRange(v, from, to);
                    double ratio = Reference.lamb(ps, Arrays.copyOfRange(g, from, to), ms, vs, step + 1, lrs[step], 0.85, 0.99,
                            1e-4, s.weightDecay() ? 0.1 : 0, s.weightDecay() || adaptNoDecay);
                    if (s.parameter().name().equals("weight") || (adaptNoDecay && s.parameter().name().equals("gamma"))) {
                        assertNotEquals(1.0, ratio, 1e-3, "the reference must exercise a real trust ratio on " + s.parameter());
                    }
                    System.arraycopy(ps, 0, p, from, ps.length);
                    System.arraycopy(ms, 0, m, from, ms.length);
                    System.arraycopy(vs, 0, v, from, vs.length);
                }
                assertArrayEquals(p, Fixture.read(buffer.params()), 1e-6, "parameters after step " + (step + 1));
                assertArrayEquals(m, Fixture.read(opt.state().firstMoment()), 1e-8, "m after step " + (step + 1));
                assertArrayEquals(v, Fixture.read(opt.state().secondMoment()), 1e-10, "v after step " + (step + 1));
            }
        }
    }

    @Test
    void noDecayTensorsGetPlainAdamUpdateAndZeroNormMeansRatioOne() {
        Lamb.Config config = Lamb.Config.builder().eps(1e-12).weightDecay(0.5).build();
        try (ParameterBuffer buffer = Fixture.buffer(Fixture.model(), manager);
             Lamb opt = new Lamb(config, FlatRange.of(buffer), manager)) {
            double[] before = Fixture.read(buffer.params());
            double[] g = Fixture.grads(0, before.length);
            Fixture.set(buffer.grads(), g);
            opt.step(buffer.params(), buffer.grads(), 0.1);
            double[] after = Fixture.read(buffer.params());
            for (FlatSegment s : opt.range().segments()) {
                String name = s.parameter().name();
                for (long j = s.offset(); j < s.end(); j++) {
                    int i = (int) j;
                    if (name.equals("bias") || name.equals("gamma")) {
                        // first step, no decay, ratio 1: p − η·sign(g)
                        assertEquals(before[i] - 0.1 * Math.signum(g[i]), after[i], 1e-6, name + " element " + i);
                    } else if (name.equals("zero")) {
                        // ‖p‖ = 0, so r = 1 and p = 0 − η·(sign(g) + λ·0)
                        assertEquals(-0.1 * Math.signum(g[i]), after[i], 1e-6, name + " element " + i);
                    }
                }
            }
        }
    }

    @Test
    void zeroUpdateNormMeansRatioOneAndNoChange() {
        Lamb.Config config = Lamb.Config.builder().weightDecay(0).build();
        try (ParameterBuffer buffer = Fixture.buffer(Fixture.model(), manager);
             Lamb opt = new Lamb(config, FlatRange.of(buffer), manager)) {
            double[] before = Fixture.read(buffer.params());
            buffer.zeroGrad();
            opt.step(buffer.params(), buffer.grads(), 0.1);
            assertArrayEquals(before, Fixture.read(buffer.params()), 0);
        }
    }

    @Test
    void trustRatioIsOneWhenEitherNormIsZero() {
        assertEquals(1, Lamb.trustRatio(0, 4));
        assertEquals(1, Lamb.trustRatio(4, 0));
        assertEquals(1, Lamb.trustRatio(0, 0));
        assertEquals(2, Lamb.trustRatio(16, 4));
    }

    @Test
    void rejectsBadConfig() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Lamb.Config.builder().weightDecay(-0.1).build());
        assertTrue(e.getMessage().contains("weightDecay = -0.1") && e.getMessage().contains(">= 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Lamb.Config.builder().eps(0).build());
    }
}
