package io.tessera.optim.zero;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.Parameter;

/**
 * ZeRO stage 2: optimizer states and gradients partitioned. No full gradient buffer exists: each
 * bucket's gradients are reduce-scattered as soon as backward finishes them (every micro-batch), and
 * each rank keeps only its piece ((2+K)·Ψ/Nd bytes with the optimizer state). Each rank updates its
 * pieces; the parameters are all-gathered after the step.
 *
 * <p>Thread safety: see {@link DataParallelOptimizer}.
 */
public final class ZeroStage2 extends ShardedGradientStage {

    ZeroStage2(Spec spec) {
        super(2, spec, Math.max(1, spec.bucketBytes() / 4));
    }

    @Override
    protected NDArray acquire(Parameter p) {
        return p.data();
    }

    @Override
    protected NDArray parameterPiece(Bucket b) {
        return pieces.inBuffer(buffer.params(), b);
    }

    @Override
    protected void afterUpdate(NDManager scratch) {
        AllGatherPieces.run(dp, buffer.params(), buckets, pieces, scratch, this::bucketView);
    }

    @Override
    public ModelStateMemory memory() {
        return new ModelStateMemory(2, buffer.numel(), dp.size(), buffer.numel() * 4, grads.bytes(), pieces.optimizerBytes());
    }

    @Override
    protected NDArray parameterState() {
        return buffer.params();
    }
}
