package io.tessera.parallel.tensor;

import io.tessera.core.Rng;

/**
 * The RNG tracker of tensor parallelism: which random stream a draw inside a tape node uses.
 *
 * <p>The rule, per kind of activation:
 * <ul>
 *   <li><b>Replicated</b> activations (embeddings, the residual stream, every sub-layer's output
 *       after {@code g}): {@code seed = mix(nodeSeed, stream)}. Every rank of a tensor-parallel group
 *       records the same nodes in the same order, so node seeds, and therefore masks, <em>agree</em>
 *       across the group, and the replicated copies stay identical.
 *   <li><b>Split</b> activations (attention probabilities of this rank's heads, anything between
 *       {@code f} and {@code g}): {@code seed = mix(nodeSeed, stream, SPLIT_DOMAIN, tensorRank)}.
 *       Each rank holds a different slice, so the masks <em>differ</em> across the group, as one
 *       unsplit mask would over the whole tensor. Under sequence parallelism the residual stream
 *       between the layers' blocks is split too (each rank holds its own positions), so its dropouts
 *       (hidden dropout in {@link BiasDropoutAdd}) use this stream as well: masks differ across the
 *       group. A run at degree {@code p} therefore draws other masks than degree 1 (as for the split
 *       attention probabilities); it is equal to degree 1 in distribution, and exactly without dropout.
 * </ul>
 * {@code nodeSeed} is {@link io.tessera.core.tape.NodeContext#seed()} (the step seed mixed with the
 * node's index), so a checkpointed node redraws the same masks when it reruns. {@code stream}
 * separates several draws in one node. Data-parallel replicas draw the same masks unless the caller
 * mixes the data-parallel rank into the tape's step seed.
 *
 * <p>Thread safety: immutable.
 */
public final class TensorParallelRng {

    /** Mixed into split-activation seeds so that they never coincide with replicated ones. */
    static final long SPLIT_DOMAIN = 0x5350_4C49_5454_5052L;

    private final int tensorRank;

    /**
     * @param tensorRank this rank's index in its tensor-parallel group
     */
    public TensorParallelRng(int tensorRank) {
        if (tensorRank < 0) {
            throw new IllegalArgumentException("tensorRank = " + tensorRank + " must be >= 0");
        }
        this.tensorRank = tensorRank;
    }

    /** @return this rank's index in its tensor-parallel group */
    public int tensorRank() {
        return tensorRank;
    }

    /**
     * @param nodeSeed the node's seed
     * @param stream which draw within the node
     * @return the seed of a draw over a replicated activation: the same on every rank of the group
     */
    public long replicatedSeed(long nodeSeed, int stream) {
        return Rng.mix(nodeSeed, stream);
    }

    /**
     * @param nodeSeed the node's seed
     * @param stream which draw within the node
     * @return the seed of a draw over a split activation: different on every rank of the group
     */
    public long splitSeed(long nodeSeed, int stream) {
        return Rng.mix(nodeSeed, stream, SPLIT_DOMAIN, tensorRank);
    }
}
