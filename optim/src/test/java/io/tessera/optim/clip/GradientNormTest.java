package io.tessera.optim.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.tessera.core.Torch;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.optim.Fixture;
import io.tessera.optim.FlatRange;
import io.tessera.optim.Sharding;
import io.tessera.optim.TensorNorms;
import io.tessera.parallel.ParallelContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The global gradient norm on one rank: the norm of the concatenated gradients, computed in Java doubles. */
class GradientNormTest {

    private static NDManager manager;

    @BeforeAll
    static void start() {
        manager = Torch.engine().newBaseManager();
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    private static double norm(double[] g) {
        double s = 0;
        for (double x : g) {
            s += x * x;
        }
        return Math.sqrt(s);
    }

    @Test
    void normIsThatOfTheConcatenatedGradients() {
        try (ParameterBuffer buffer = Fixture.buffer(Fixture.model(), manager)) {
            double[] g = Fixture.asFloat(Fixture.values(7, buffer.numel(), 3));
            Fixture.set(buffer.grads(), g);
            GradientNorm.Result r = GradientNorm.of(FlatRange.of(buffer), ParallelContext.single(), Sharding.REPLICATED)
                    .compute(buffer.grads());
            assertEquals(norm(g), r.norm(), 1e-5 * norm(g));
            assertTrue(r.finite());
            assertFalse(r.clipped());
            assertArrayEquals(g, Fixture.read(buffer.grads()), 0, "compute must not change the gradients");
        }
    }

    @Test
    void clipScalesToMaxNormAndLeavesSmallGradientsAlone() {
        try (ParameterBuffer buffer = Fixture.buffer(Fixture.model(), manager)) {
            double[] g = Fixture.asFloat(Fixture.values(7, buffer.numel(), 3));
            double n = norm(g);
            Fixture.set(buffer.grads(), g);
            GradientNorm clipper = new GradientNorm(FlatRange.of(buffer), TensorNorms.local());
            GradientNorm.Result r = clipper.clip(buffer.grads(), 1.0);
            assertTrue(r.clipped());
            assertEquals(n, r.norm(), 1e-5 * n);
            assertEquals(1.0 / (r.norm() + GradientNorm.EPSILON), r.coefficient(), 1e-12);
            double[] after = Fixture.read(buffer.grads());
            for (int i = 0; i < g.length; i++) {
                assertEquals(g[i] * r.coefficient(), after[i], 1e-6, "element " + i);
            }
            assertEquals(1.0, norm(after), 1e-5);

            GradientNorm.Result again = clipper.clip(buffer.grads(), 2.0);
            assertFalse(again.clipped());
            assertEquals(1, again.coefficient());
            assertArrayEquals(after, Fixture.read(buffer.grads()), 0);
        }
    }

    @Test
    void nonFiniteNormSignalsSkipAndLeavesGradients() {
        try (ParameterBuffer buffer = Fixture.buffer(Fixture.model(), manager)) {
            double[] g = Fixture.values(7, buffer.numel(), 3);
            g[4] = Double.POSITIVE_INFINITY;
            Fixture.set(buffer.grads(), g);
            GradientNorm.Result r = new GradientNorm(FlatRange.of(buffer), TensorNorms.local())
                    .clip(buffer.grads(), 1.0);
            assertFalse(r.finite());
            assertFalse(r.clipped());
            assertEquals(Double.POSITIVE_INFINITY, Fixture.read(buffer.grads())[4]);
            g[4] = Double.NaN;
            Fixture.set(buffer.grads(), g);
            assertFalse(new GradientNorm(FlatRange.of(buffer), TensorNorms.local())
                    .compute(buffer.grads()).finite());
        }
    }

    @Test
    void rejectsNonPositiveMaxNorm() {
        try (ParameterBuffer buffer = Fixture.buffer(Fixture.model(), manager)) {
            GradientNorm clipper = new GradientNorm(FlatRange.of(buffer), TensorNorms.local());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> clipper.clip(buffer.grads(), 0));
            assertTrue(e.getMessage().contains("maxNorm = 0.0"), e.getMessage());
        }
    }
}
