package io.tessera.core.tape;

import ai.djl.ndarray.NDList;

/**
 * The forward computation of an ordinary tape node, differentiated by PyTorch autograd. The inputs are
 * fresh leaves; parameters are obtained through {@link NodeContext#param}. The function must be
 * deterministic given its inputs and {@link NodeContext#seed()}: a checkpointed node runs it twice.
 *
 * <p>Thread safety: called on the tape's thread only.
 */
@FunctionalInterface
public interface Op {

    /**
     * @param ctx the node's context (scratch manager, parameters, seed)
     * @param inputs leaves standing for the node's inputs, in order
     * @return the outputs
     */
    NDList forward(NodeContext ctx, NDList inputs);
}
