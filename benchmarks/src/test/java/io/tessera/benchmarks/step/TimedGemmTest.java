package io.tessera.benchmarks.step;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.gemm.GemmBackend;
import org.junit.jupiter.api.Test;

/** The counting GEMM computes what its delegate computes and counts 2·m·k·n FLOPs per product. */
class TimedGemmTest {

    @Test
    void countsEveryProductOfALinearLayer() {
        TimedGemm g = new TimedGemm(GemmBackend.LIBTORCH.create());
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray x = m.randomUniform(-1, 1, new Shape(6, 4)); // N 6, in 4
            NDArray w = m.randomUniform(-1, 1, new Shape(3, 4)); // out 3
            NDArray y = g.linearForward(x, w, m);
            assertArrayEquals(x.matMul(w.transpose()).toFloatArray(), y.toFloatArray(), 1e-6f);
            assertEquals(2.0 * 6 * 4 * 3, g.flops());
            NDArray dy = m.ones(new Shape(6, 3));
            g.linearInputGradient(dy, w, m); // [6, 3] · [3, 4]
            NDArray dw = m.zeros(new Shape(3, 4));
            g.linearWeightGradientAdd(dy, x, dw); // [3, 6] · [6, 4], accumulated in place
            assertArrayEquals(dy.transpose().matMul(x).toFloatArray(), dw.toFloatArray(), 1e-5f);
            assertEquals(3, g.calls());
            assertEquals(3 * 2.0 * 6 * 4 * 3, g.flops(), "each of the three products has m·k·n = 72");
            assertTrue(g.seconds() > 0);
            g.reset();
            assertEquals(0, g.calls());
            assertEquals(0, g.flops());
        }
    }
}
