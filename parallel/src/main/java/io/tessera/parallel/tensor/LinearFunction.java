package io.tessera.parallel.tensor;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import io.tessera.core.gemm.Gemm;
import io.tessera.core.gemm.Gemms;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.FunctionContext;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.TapeFunction;
import io.tessera.core.tape.Var;
import java.util.Objects;

/**
 * A linear layer's product as a tape node whose three matrix products run on a chosen {@link Gemm}
 * (OpenBLAS, libtorch, or the faster of the two per shape), with a hand-written backward:
 *
 * <pre>
 *   x [..., in] → X [N, in]   (N = product of the leading dimensions; a view)
 *                      OUT_IN, W [out, in]          IN_OUT, W [in, out]
 *   forward   Y  =     X·Wᵀ (+ b)                    X·W (+ b)
 *   backward  dX =     dY·W                          dY·Wᵀ
 *             dW +=    dYᵀ·X                         Xᵀ·dY
 *             db +=    Σ_N dY
 * </pre>
 *
 * <p>{@code dW} is written straight into the parameter's gradient ({@code beta = 1}) when the tape's
 * parameter access offers it ({@link FunctionContext#gradientTarget}); otherwise it is added through
 * {@link FunctionContext#accumulateGradient}. Forward saves only {@code X}, which is the node's input and
 * is kept by the tape anyway.
 *
 * <p>The layers use it through {@link #strategyFor}: products of fp32 CPU activations go through the
 * tape's strategy ({@link Tape#gemm()}: the run's, else the process's) unless that is libtorch's own, in
 * which case the layers keep their products inside their autograd nodes.
 *
 * <p>Thread safety: immutable; runs on the thread of the tape that recorded it.
 */
final class LinearFunction implements TapeFunction {

    private final Parameter weight;
    private final WeightLayout layout;
    private final Parameter bias;
    private final Gemm gemm;

    /**
     * @param weight the weight, 2-D in {@code layout}
     * @param layout how the weight is stored
     * @param bias added to the output ({@code [out]}), or null
     * @param gemm the product strategy
     */
    LinearFunction(Parameter weight, WeightLayout layout, Parameter bias, Gemm gemm) {
        this.weight = Objects.requireNonNull(weight, "weight");
        this.layout = Objects.requireNonNull(layout, "layout");
        this.bias = bias;
        this.gemm = Objects.requireNonNull(gemm, "gemm");
    }

    /**
     * The strategy for a linear layer applied to {@code x}, or null when the product should stay inside
     * an autograd node: the tape's strategy is libtorch's, or {@code x} is not an fp32 CPU tensor
     * (fp16 and GPU products go to libtorch).
     *
     * @param tape the tape the layer records on
     * @param x the layer's input
     * @return the strategy, or null
     */
    static Gemm strategyFor(Tape tape, Var x) {
        NDArray v = x.value();
        if (v.getDataType() != DataType.FLOAT32 || !Device.Type.CPU.equals(v.getDevice().getDeviceType())) {
            return null;
        }
        Gemm g = tape.gemm();
        return Gemms.isLibtorch(g) ? null : g;
    }

    @Override
    public NDList forward(FunctionContext ctx, NDList inputs) {
        NDArray x = inputs.singletonOrThrow();
        NDArray y = gemm.linearForward(x, ctx.param(weight), outIn(), ctx.manager());
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
        NDArray dx = gemm.linearInputGradient(dy, ctx.param(weight), outIn(), ctx.manager());
        NDArray target = ctx.gradientTarget(weight);
        if (target != null) {
            gemm.linearWeightGradientAdd(dy, x, outIn(), target);
        } else {
            ctx.accumulateGradient(weight, gemm.linearWeightGradient(dy, x, outIn(), ctx.manager()));
        }
        if (bias != null) {
            ctx.accumulateGradient(bias, Gemm.rows(dy, "dy").sum(new int[] {0}));
        }
        return new NDList(dx);
    }

    private boolean outIn() {
        return layout == WeightLayout.OUT_IN;
    }
}
