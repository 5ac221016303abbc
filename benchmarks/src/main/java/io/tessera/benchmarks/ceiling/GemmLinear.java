package io.tessera.benchmarks.ceiling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.FunctionContext;
import io.tessera.core.tape.TapeFunction;
import java.util.Objects;

/**
 * A linear layer {@code y = x·Wᵀ + b} as a tape node whose three products run on a chosen {@link Gemm}:
 *
 * <pre>
 *   x [..., in]   W [out, in]   b [out]   y [..., out]      (N = product of x's leading dimensions)
 *   forward    y  = x·Wᵀ + b
 *   backward   dx = dy·W              (returned)
 *              dW = dyᵀ·x             (added to W's gradient)
 *              db = Σ_N dy            (added to b's gradient)
 * </pre>
 *
 * <p>This is the pattern for a layer that wants the faster GEMM: record it with
 * {@code tape.call1("mlp.fc1", new GemmLinear(w, b, gemm), x)}. Forward saves {@code x} for backward.
 *
 * <p>Thread safety: immutable; each call runs on the thread of the tape that recorded it.
 */
public final class GemmLinear implements TapeFunction {

    private final Parameter weight;
    private final Parameter bias;
    private final Gemm gemm;

    /**
     * @param weight {@code [out, in]}
     * @param bias {@code [out]}, or null for none
     * @param gemm the product strategy
     */
    public GemmLinear(Parameter weight, Parameter bias, Gemm gemm) {
        this.weight = Objects.requireNonNull(weight, "weight");
        this.bias = bias;
        this.gemm = Objects.requireNonNull(gemm, "gemm");
        if (weight.shape().dimension() != 2) {
            throw new IllegalArgumentException("GemmLinear: weight " + weight + " must be 2-D [out, in]");
        }
        if (bias != null && (bias.shape().dimension() != 1 || bias.shape().get(0) != weight.shape().get(0))) {
            throw new IllegalArgumentException("GemmLinear: bias " + bias + " must be [" + weight.shape().get(0)
                    + "] to match weight " + weight.shape());
        }
    }

    @Override
    public NDList forward(FunctionContext ctx, NDList inputs) {
        NDArray x = inputs.singletonOrThrow();
        NDArray y = gemm.linearForward(x, ctx.param(weight), ctx.manager());
        if (bias != null) {
            y.addi(ctx.param(bias));
        }
        ctx.save(x);
        return new NDList(y);
    }

    @Override
    public NDList backward(FunctionContext ctx, NDList outputCotangents) {
        NDArray dy = outputCotangents.singletonOrThrow();
        NDArray x = ctx.saved().singletonOrThrow();
        NDArray w = ctx.param(weight);
        NDArray dx = gemm.linearInputGradient(dy, w, ctx.manager());
        ctx.accumulateGradient(weight, gemm.linearWeightGradient(dy, x, ctx.manager()));
        if (bias != null) {
            ctx.accumulateGradient(bias, Gemm.rows(dy, "dy").sum(new int[] {0}));
        }
        return new NDList(dx);
    }
}
