package io.tessera.core.tape;

import ai.djl.ndarray.NDList;

/**
 * A tape node with a hand-written backward, like PyTorch's {@code autograd.Function}: communication
 * mappings (identity forward / all-reduce backward and the reverse), fused kernels, custom GEMMs.
 *
 * <p>Forward runs with grad mode off. Backward receives one cotangent per output (zeros for outputs
 * that received none) and returns one cotangent per input, or null for an input that needs none.
 * Parameter gradients are added with {@link FunctionContext#accumulateGradient}.
 *
 * <p>Thread safety: called on the tape's thread only.
 */
public interface TapeFunction {

    /**
     * @param ctx scratch manager, saved tensors, parameters
     * @param inputs input values
     * @return outputs
     */
    NDList forward(FunctionContext ctx, NDList inputs);

    /**
     * @param ctx the same context as forward, with what forward saved
     * @param outputCotangents one per output
     * @return one per input; null entries for inputs that need no gradient
     */
    NDList backward(FunctionContext ctx, NDList outputCotangents);
}
