package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.NodeContext;

/**
 * The residual step after a row-parallel sub-layer, fused into the caller's node as in Megatron:
 * {@code out = residual + dropout(y + b)}, where {@code y} is the reduced sub-layer output and
 * {@code b} the row-parallel layer's replicated bias. The activation is replicated, so the dropout
 * mask agrees across the tensor-parallel group ({@link TensorParallelRng}).
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
        this.dropout = new Dropout(probability, Dropout.Region.REPLICATED, rng);
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
        NDArray z = bias == null ? y : y.add(ctx.param(bias));
        return residual.add(dropout.apply(ctx, z, stream));
    }
}
