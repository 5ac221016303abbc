package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * A dtype conversion that stays in the autograd graph: {@code y = x} rounded to {@code type}, with
 * {@code dx = dy} widened or rounded back to {@code x}'s type.
 *
 * <p>Why not {@code NDArray.toType}: DJL 0.35.1's {@code torchTo} runs under a
 * {@code torch::NoGradGuard}, so its result has no gradient function and backward silently stops
 * there (checked: a node whose output went through {@code toType} reported no gradient function).
 * Upward casts can ride on type promotion (fp16 + fp32 tensor is fp32) or on the dtype argument of
 * softmax and log-softmax; a downward cast has neither, so this uses {@code cumprod(x, dim, dtype)}
 * over a new axis of size 1: libtorch converts {@code x} to {@code dtype} inside the graph, and the
 * product over one element is the element itself.
 *
 * <p>Thread safety: stateless.
 */
public final class DifferentiableCast {

    private DifferentiableCast() {}

    /**
     * @param x any floating-point tensor, possibly requiring a gradient
     * @param type the target floating-point type (never bf16: DJL 0.35.1 cannot represent it)
     * @return {@code x} converted to {@code type}; {@code x} itself when it already has that type
     */
    public static NDArray to(NDArray x, DataType type) {
        if (x.getDataType() == type) {
            return x;
        }
        io.tessera.core.Torch.checkSupported(type, "DifferentiableCast");
        return JniUtils.cumProd((PtNDArray) x.expandDims(-1), -1, type).squeeze(-1);
    }
}
