package io.tessera.optim.clip;

import ai.djl.ndarray.NDArray;
import io.tessera.core.Torch;
import io.tessera.optim.FlatRange;
import io.tessera.optim.FlatSegment;
import io.tessera.optim.Sharding;
import io.tessera.optim.TensorNorms;
import io.tessera.parallel.ParallelContext;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * The global L2 norm of the model's gradients, and clipping by it, correct under tensor and data
 * parallelism: the norm is that of the gradient of the degree-1 model.
 *
 * <pre>
 *   ‖g‖ = √( Σ_t S_t )        S_t = full-tensor sum of squares of tensor t's gradient (see {@link TensorNorms}):
 *                                    replicated tensors counted once, tensor-parallel splits summed over the
 *                                    tensor group, ZeRO-2 gradient shards ({@link Sharding#PARTITIONED})
 *                                    summed over the data group
 *   clip(maxNorm):  c = maxNorm / (‖g‖ + 1e-6);  g ← c·g  if c &lt; 1     (as torch.nn.utils.clip_grad_norm_)
 * </pre>
 *
 * <p>A norm that is not finite (an fp16 overflow, a NaN loss) leaves the gradients untouched and reports
 * {@link Result#finite()} false: the caller skips the step. All ranks see the same norm, so they agree.
 *
 * <p>Collectives: those of {@link TensorNorms#sumOfSquares}: at most one small all-reduce over the
 * tensor group and one over the data group per call; every rank of both groups calls at the same point.
 *
 * <p>Thread safety: immutable; calls issue collectives on the caller's thread.
 */
public final class GradientNorm {

    /** Added to the norm before dividing, as PyTorch and Megatron do. */
    public static final double EPSILON = 1e-6;

    private final FlatRange range;
    private final TensorNorms norms;

    /**
     * @param range the segment table the gradients are laid out by
     * @param norms how partial sums are completed across ranks
     */
    public GradientNorm(FlatRange range, TensorNorms norms) {
        this.range = Objects.requireNonNull(range, "range");
        this.norms = Objects.requireNonNull(norms, "norms");
    }

    /**
     * @param range the segment table the gradients are laid out by
     * @param context this rank's groups
     * @param sharding {@link Sharding#REPLICATED} after a data-parallel all-reduce of the gradients,
     *     {@link Sharding#PARTITIONED} for ZeRO-2/3 gradient shards
     * @return the norm over those groups
     */
    public static GradientNorm of(FlatRange range, ParallelContext context, Sharding sharding) {
        return new GradientNorm(range, TensorNorms.of(context, sharding));
    }

    /**
     * @param grads 1-D fp32 gradients laid out like the range
     * @return the global norm; {@link Result#coefficient()} is 1
     */
    public Result compute(NDArray grads) {
        return compute(grads, s -> true);
    }

    /**
     * @param grads 1-D fp32 gradients laid out like the range
     * @param include which segments count (the same decision on every rank of a group); pipeline stages
     *     leave out their copies of another stage's parameters
     * @return the norm over the included segments; {@link Result#coefficient()} is 1
     */
    public Result compute(NDArray grads, Predicate<FlatSegment> include) {
        double norm = globalNorm(grads, include);
        return new Result(norm, 1, Double.isFinite(norm));
    }

    /**
     * Scales the gradients in place so that their global norm is at most {@code maxNorm}.
     *
     * @param grads 1-D fp32 gradients laid out like the range
     * @param maxNorm the largest norm allowed, &gt; 0
     * @return the norm before clipping and the coefficient applied
     */
    @SuppressWarnings("try") // the scopes act by being opened and closed
    public Result clip(NDArray grads, double maxNorm) {
        if (!(maxNorm > 0 && Double.isFinite(maxNorm))) {
            throw new IllegalArgumentException("clip: maxNorm = " + maxNorm + " must be finite and > 0; BERT and GPT-2 use 1.0");
        }
        double norm = globalNorm(grads, seg -> true);
        if (!Double.isFinite(norm)) {
            return new Result(norm, 1, false);
        }
        double coefficient = maxNorm / (norm + EPSILON);
        if (coefficient >= 1) {
            return new Result(norm, 1, true);
        }
        try (Torch.GradMode g = Torch.gradMode(false)) {
            grads.muli(coefficient);
        }
        return new Result(norm, coefficient, true);
    }

    private double globalNorm(NDArray grads, Predicate<FlatSegment> include) {
        double[] squares = norms.sumOfSquares(range, include, grads)[0];
        double total = 0;
        for (double s : squares) {
            total += s;
        }
        return Math.sqrt(total);
    }

    /**
     * The outcome of a norm computation.
     *
     * <p>Thread safety: immutable.
     *
     * @param norm the global norm before any clipping
     * @param coefficient the factor the gradients were multiplied by (1 when not clipped)
     * @param finite false when the norm is infinite or NaN: skip the optimizer step
     */
    public record Result(double norm, double coefficient, boolean finite) {

        /** @return whether the gradients were scaled down */
        public boolean clipped() {
            return coefficient < 1;
        }
    }
}
