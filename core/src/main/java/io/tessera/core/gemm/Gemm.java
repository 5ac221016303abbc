package io.tessera.core.gemm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * A strategy for fp32 matrix products on CPU tensors: {@code op(A)·op(B)} where {@code op} is the identity
 * or the transpose, chosen by flags so that no operand is ever transposed in memory.
 *
 * <p>The three products of a linear layer {@code y = x·Wᵀ} ({@code x [N, in]}, {@code W [out, in]},
 * leading dimensions of x flattened into N) are spelled out as default methods, so that a
 * {@link io.tessera.core.tape.TapeFunction} can call them directly (the tensor-parallel layers' {@code
 * LinearFunction} does):
 *
 * <pre>
 *   forward          y  = x · Wᵀ      [N, out]   {@link #linearForward}
 *   input gradient   dx = dy · W      [N, in]    {@link #linearInputGradient}
 *   weight gradient  dW = dyᵀ · x     [out, in]  {@link #linearWeightGradient}
 * </pre>
 *
 * <p>Implementations: {@link LibtorchGemm} (DJL's libtorch, which calls MKL), {@link OpenBlasGemm}
 * (OpenBLAS {@code cblas_sgemm} on the tensors' zero-copy buffers) and {@link MeasuredGemm}, which times
 * both once per shape and keeps the faster. {@link GemmBackend} names them for options.
 *
 * <p>Which strategy the model layers use is their tape's ({@code Tape.gemm()}: a run's
 * {@link io.tessera.core.Compute}, else the process default {@link Gemms#current()}).
 *
 * <p>Thread safety: implementations are safe to call from several threads on distinct outputs.
 */
public interface Gemm {

    /** @return a short name for reports, e.g. {@code libtorch} or {@code openblas} */
    String name();

    /**
     * {@code C = op(A)·op(B)} into a new array.
     *
     * @param a a 2-D fp32 CPU tensor, {@code [m, k]} or, transposed, {@code [k, m]}
     * @param transposeA whether {@code op(A) = Aᵀ}
     * @param b a 2-D fp32 CPU tensor, {@code [k, n]} or, transposed, {@code [n, k]}
     * @param transposeB whether {@code op(B) = Bᵀ}
     * @param manager owner of the result
     * @return {@code C [m, n]}
     */
    NDArray multiply(NDArray a, boolean transposeA, NDArray b, boolean transposeB, NDManager manager);

    /**
     * {@code C ← C + op(A)·op(B)} in place.
     *
     * @param a as in {@link #multiply}
     * @param transposeA whether {@code op(A) = Aᵀ}
     * @param b as in {@link #multiply}
     * @param transposeB whether {@code op(B) = Bᵀ}
     * @param c a contiguous 2-D fp32 CPU tensor {@code [m, n]} (a view of a flat gradient buffer is)
     */
    void multiplyAdd(NDArray a, boolean transposeA, NDArray b, boolean transposeB, NDArray c);

    /**
     * Forward of a linear layer without bias: {@code y = x·Wᵀ}.
     *
     * @param x input {@code [..., in]}
     * @param weight {@code [out, in]}
     * @param manager owner of the result
     * @return {@code y [..., out]}
     */
    default NDArray linearForward(NDArray x, NDArray weight, NDManager manager) {
        return linearForward(x, weight, true, manager);
    }

    /**
     * Forward of a linear layer without bias, for either weight layout.
     *
     * @param x input {@code [..., in]}
     * @param weight {@code [out, in]} when {@code outIn}, else {@code [in, out]}
     * @param outIn whether the weight is stored {@code [out, in]} ({@code y = x·Wᵀ}) rather than
     *     {@code [in, out]} ({@code y = x·W})
     * @param manager owner of the result
     * @return {@code y [..., out]}
     */
    default NDArray linearForward(NDArray x, NDArray weight, boolean outIn, NDManager manager) {
        NDArray y = multiply(rows(x, "x"), false, weight, outIn, manager);
        return y.reshape(replaceLast(x.getShape(), y.getShape().get(1)));
    }

    /**
     * Input gradient of a linear layer: {@code dx = dy·W}.
     *
     * @param dy output cotangent {@code [..., out]}
     * @param weight {@code [out, in]}
     * @param manager owner of the result
     * @return {@code dx [..., in]}
     */
    default NDArray linearInputGradient(NDArray dy, NDArray weight, NDManager manager) {
        return linearInputGradient(dy, weight, true, manager);
    }

    /**
     * Input gradient of a linear layer, for either weight layout: {@code dx = dy·W} ({@code [out, in]})
     * or {@code dy·Wᵀ} ({@code [in, out]}).
     *
     * @param dy output cotangent {@code [..., out]}
     * @param weight the weight, laid out as {@code outIn} says
     * @param outIn whether the weight is stored {@code [out, in]}
     * @param manager owner of the result
     * @return {@code dx [..., in]}
     */
    default NDArray linearInputGradient(NDArray dy, NDArray weight, boolean outIn, NDManager manager) {
        NDArray dx = multiply(rows(dy, "dy"), false, weight, !outIn, manager);
        return dx.reshape(replaceLast(dy.getShape(), dx.getShape().get(1)));
    }

    /**
     * Weight gradient of a linear layer: {@code dW = dyᵀ·x}, summed over all leading positions.
     *
     * @param dy output cotangent {@code [..., out]}
     * @param x the forward input {@code [..., in]}
     * @param manager owner of the result
     * @return {@code dW [out, in]}
     */
    default NDArray linearWeightGradient(NDArray dy, NDArray x, NDManager manager) {
        return linearWeightGradient(dy, x, true, manager);
    }

    /**
     * Weight gradient of a linear layer, for either weight layout: {@code dyᵀ·x} ({@code [out, in]}) or
     * {@code xᵀ·dy} ({@code [in, out]}), summed over all leading positions.
     *
     * @param dy output cotangent {@code [..., out]}
     * @param x the forward input {@code [..., in]}
     * @param outIn whether the weight is stored {@code [out, in]}
     * @param manager owner of the result
     * @return {@code dW} in the weight's layout
     */
    default NDArray linearWeightGradient(NDArray dy, NDArray x, boolean outIn, NDManager manager) {
        return outIn ? multiply(rows(dy, "dy"), true, rows(x, "x"), false, manager)
                : multiply(rows(x, "x"), true, rows(dy, "dy"), false, manager);
    }

    /**
     * Weight gradient added in place: {@code dW ← dW + dyᵀ·x}.
     *
     * @param dy output cotangent {@code [..., out]}
     * @param x the forward input {@code [..., in]}
     * @param weightGradient contiguous {@code [out, in]}, e.g. a parameter's gradient view
     */
    default void linearWeightGradientAdd(NDArray dy, NDArray x, NDArray weightGradient) {
        linearWeightGradientAdd(dy, x, true, weightGradient);
    }

    /**
     * Weight gradient added in place, for either weight layout.
     *
     * @param dy output cotangent {@code [..., out]}
     * @param x the forward input {@code [..., in]}
     * @param outIn whether the weight is stored {@code [out, in]}
     * @param weightGradient contiguous, in the weight's layout, e.g. a parameter's gradient view
     */
    default void linearWeightGradientAdd(NDArray dy, NDArray x, boolean outIn, NDArray weightGradient) {
        if (outIn) {
            multiplyAdd(rows(dy, "dy"), true, rows(x, "x"), false, weightGradient);
        } else {
            multiplyAdd(rows(x, "x"), true, rows(dy, "dy"), false, weightGradient);
        }
    }

    /**
     * Flattens every dimension but the last: {@code [..., d] → [N, d]} (a view when {@code t} is
     * contiguous).
     *
     * @param t a tensor of rank at least 1
     * @param what its name, for messages
     * @return the 2-D tensor
     */
    static NDArray rows(NDArray t, String what) {
        Shape s = t.getShape();
        if (s.dimension() < 1) {
            throw new IllegalArgumentException(what + ": a scalar cannot be a matrix operand; expected [..., d]");
        }
        if (s.dimension() == 2) {
            return t;
        }
        return t.reshape(-1, s.get(s.dimension() - 1));
    }

    /**
     * Checks the operands of {@code op(A)·op(B)} and returns {@code {m, k, n}}.
     *
     * @param a first operand
     * @param transposeA whether A is transposed
     * @param b second operand
     * @param transposeB whether B is transposed
     * @param who the calling backend, for messages
     * @return the dimensions
     */
    static int[] dimensions(NDArray a, boolean transposeA, NDArray b, boolean transposeB, String who) {
        check2dFloat(a, "A", who);
        check2dFloat(b, "B", who);
        long m = transposeA ? a.getShape().get(1) : a.getShape().get(0);
        long ka = transposeA ? a.getShape().get(0) : a.getShape().get(1);
        long kb = transposeB ? b.getShape().get(1) : b.getShape().get(0);
        long n = transposeB ? b.getShape().get(0) : b.getShape().get(1);
        if (ka != kb) {
            throw new IllegalArgumentException(who + ": op(A) is " + m + "x" + ka + " (A " + a.getShape()
                    + (transposeA ? " transposed" : "") + ") but op(B) is " + kb + "x" + n + " (B " + b.getShape()
                    + (transposeB ? " transposed" : "") + "); the inner dimensions must agree");
        }
        return new int[] {Math.toIntExact(m), Math.toIntExact(ka), Math.toIntExact(n)};
    }

    /**
     * Checks that {@code c} can hold {@code [m, n]}.
     *
     * @param c the output
     * @param m rows
     * @param n columns
     * @param who the calling backend, for messages
     */
    static void checkOutput(NDArray c, int m, int n, String who) {
        check2dFloat(c, "C", who);
        if (c.getShape().get(0) != m || c.getShape().get(1) != n) {
            throw new IllegalArgumentException(who + ": C is " + c.getShape() + " but op(A)·op(B) is (" + m + ", " + n + ")");
        }
    }

    private static void check2dFloat(NDArray t, String what, String who) {
        if (t.getShape().dimension() != 2) {
            throw new IllegalArgumentException(who + ": " + what + " must be 2-D, got " + t.getShape()
                    + "; flatten leading dimensions with Gemm.rows");
        }
        if (t.getDataType() != DataType.FLOAT32) {
            throw new IllegalArgumentException(who + ": " + what + " must be float32, got " + t.getDataType()
                    + "; Gemm strategies compute fp32 products (convert with toType)");
        }
        if (!Device.Type.CPU.equals(t.getDevice().getDeviceType())) {
            throw new IllegalArgumentException(who + ": " + what + " lives on " + t.getDevice()
                    + "; Gemm strategies run on CPU tensors");
        }
    }

    private static Shape replaceLast(Shape s, long last) {
        long[] dims = s.getShape().clone(); // Shape.getShape() is the shape's own array
        dims[dims.length - 1] = last;
        return new Shape(dims);
    }
}
