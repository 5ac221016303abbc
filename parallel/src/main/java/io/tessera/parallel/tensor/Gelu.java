package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.tessera.core.Scalars;

/**
 * The two GELU variants of BERT and GPT-2, applied element-wise.
 *
 * <p>Thread safety: immutable enum.
 */
public enum Gelu {
    /** {@code 0.5·x·(1 + erf(x/√2))}: exact, BERT's {@code "gelu"}. */
    EXACT {
        @Override
        public NDArray apply(NDArray x) {
            return JniUtils.gelu((PtNDArray) x);   // libtorch's fused kernel and backward: one pass each way
        }
    },
    /** {@code 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))}: GPT-2's {@code "gelu_new"}. */
    TANH {
        @Override
        public NDArray apply(NDArray x) {
            NDArray inner = x.add(x.pow(Scalars.of(x, 3)).mul(Scalars.of(x, 0.044715))).mul(Scalars.of(x, SQRT_2_OVER_PI));
            return x.mul(inner.tanh().add(Scalars.of(x, 1))).mul(Scalars.of(x, 0.5));
        }
    };

    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

    /**
     * Scalar constants are {@link Scalars}, so the result is safe to differentiate.
     *
     * @param x any floating-point tensor
     * @return GELU of {@code x}, differentiable by autograd
     */
    public abstract NDArray apply(NDArray x);
}
