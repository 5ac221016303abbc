package io.tessera.core;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Scalar operands that are safe inside autograd graphs.
 *
 * <p>DJL 0.35.1's {@code Number} overloads ({@code x.mul(0.5)}, {@code x.div(n)}, {@code x.pow(3)}, …)
 * wrap the number in a tensor over a Java direct buffer ({@code torch::from_blob}, no copy) and close
 * that tensor right after the operation. Autograd keeps the operand for backward where the derivative
 * needs it (mul, div, pow), and once the JVM collects the buffer, backward reads freed memory: wrong or
 * NaN gradients, depending on when the garbage collector runs. A scalar made here lives in
 * libtorch-owned memory ({@code torch::full}) and stays valid for as long as any graph holds it.
 *
 * <pre>{@code
 * NDArray y = x.mul(Scalars.of(x, 0.5));     // not x.mul(0.5) when x requires a gradient
 * }</pre>
 *
 * <p>The value is rounded to float32 before it is converted to the tensor's type.
 *
 * <p>Thread safety: stateless.
 */
public final class Scalars {

    private Scalars() {}

    /**
     * @param like a tensor whose type, device and manager the scalar takes
     * @param value the value
     * @return a 0-dimensional tensor holding {@code value}
     */
    public static NDArray of(NDArray like, double value) {
        return like.getManager().full(new Shape(), (float) value, like.getDataType());
    }
}
