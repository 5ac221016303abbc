package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.NodeContext;

/**
 * The residual step after a row-parallel sub-layer, fused into the caller's node as in Megatron:
 * {@code out = residual + dropout(y + b)}, where {@code y} is the reduced sub-layer output and
 * {@code b} the row-parallel layer's replicated bias. Without sequence parallelism the activation is
 * replicated, so the dropout mask agrees across the tensor-parallel group; under sequence parallelism
 * each rank holds its own positions and draws its own mask ({@link Dropout.Region#SPLIT},
 * {@link TensorParallelRng}), and the caller records the step in a {@link SequenceParallelFunction}
 * so that {@code b}'s gradient is summed over the group.
 *
 * <p>Thread safety: immutable.
 */
public final class BiasDropoutAdd {

    private final Dropout dropout;

    /**
     * @param probability hidden dropout probability
     * @param rng this rank's tracker
     */
    public BiasDropoutAdd(double probability, TensorParallelRng rng) {
        this(probability, Dropout.Region.REPLICATED, rng);
    }

    /**
     * @param probability hidden dropout probability
     * @param region {@link Dropout.Region#REPLICATED} for a replicated residual stream,
     *     {@link Dropout.Region#SPLIT} for a sequence-parallel one
     * @param rng this rank's tracker
     */
    public BiasDropoutAdd(double probability, Dropout.Region region, TensorParallelRng rng) {
        this.dropout = new Dropout(probability, region, rng);
    }

    /**
     * @param ctx the node's context
     * @param y {@code [..., C]}, the reduced sub-layer output
     * @param bias {@code [C]}, or null
     * @param residual {@code [..., C]}
     * @param stream distinguishes several dropouts within one node
     * @return {@code residual + dropout(y + bias)}
     */
    public NDArray apply(NodeContext ctx, NDArray y, Parameter bias, NDArray residual, int stream) {
        return apply(ctx, ctx::param, y, bias, residual, stream);
    }

    /**
     * As {@link #apply(NodeContext, NDArray, Parameter, NDArray, int)}, reading the bias from
     * {@code params} (a {@link SequenceParallelFunction}'s body).
     *
     * @param ctx the node's context (seed and training flag of the dropout)
     * @param params where the bias is read
     * @param y {@code [..., C]}, the reduced sub-layer output
     * @param bias {@code [C]}, or null
     * @param residual {@code [..., C]}
     * @param stream distinguishes several dropouts within one node
     * @return {@code residual + dropout(y + bias)}
     */
    public NDArray apply(NodeContext ctx, ParameterValues params, NDArray y, Parameter bias, NDArray residual, int stream) {
        NDArray z = bias == null ? y : y.add(params.get(bias));
        return residual.add(dropout.apply(ctx, z, stream));
    }
}
