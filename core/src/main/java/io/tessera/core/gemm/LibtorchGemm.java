package io.tessera.core.gemm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Matrix products through DJL's libtorch ({@code torch.matmul}), which calls the BLAS libtorch was built
 * with: Intel MKL in DJL's CPU builds. A transposed operand is a strided view, which libtorch hands to
 * the BLAS as a transpose flag without copying.
 *
 * <p>Thread safety: stateless; safe from several threads on distinct outputs. The thread count is
 * libtorch's intra-op setting ({@link io.tessera.core.Torch#setThreads}).
 */
public final class LibtorchGemm implements Gemm {

    /** The name in reports. */
    public static final String NAME = "libtorch";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public NDArray multiply(NDArray a, boolean transposeA, NDArray b, boolean transposeB, NDManager manager) {
        Gemm.dimensions(a, transposeA, b, transposeB, NAME);
        NDArray ta = transposeA ? a.transpose() : a;
        NDArray tb = transposeB ? b.transpose() : b;
        NDArray c = ta.matMul(tb);
        c.attach(manager);
        closeView(ta, a);
        closeView(tb, b);
        return c;
    }

    @Override
    public void multiplyAdd(NDArray a, boolean transposeA, NDArray b, boolean transposeB, NDArray c) {
        int[] mkn = Gemm.dimensions(a, transposeA, b, transposeB, NAME);
        Gemm.checkOutput(c, mkn[0], mkn[2], NAME);
        NDArray ta = transposeA ? a.transpose() : a;
        NDArray tb = transposeB ? b.transpose() : b;
        try (NDArray product = ta.matMul(tb)) {
            c.addi(product);
        }
        closeView(ta, a);
        closeView(tb, b);
    }

    /** Frees the handle of a transposed view (its storage belongs to the operand). */
    private static void closeView(NDArray view, NDArray operand) {
        if (view != operand) {
            view.close();
        }
    }

    @Override
    public String toString() {
        return NAME;
    }
}
