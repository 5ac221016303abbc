package io.tessera.optim.zero;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.Torch;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.ParameterAccess;
import io.tessera.optim.Sharding;
import java.util.ArrayList;
import java.util.List;

/**
 * ZeRO stage 2: optimizer states and gradients partitioned. No full gradient buffer exists: each
 * bucket's gradients are reduce-scattered as soon as backward finishes them (every micro-batch), and
 * each rank keeps only its piece ((2+K)·Ψ/Nd bytes with the optimizer state). Each rank updates its
 * pieces; the parameters are all-gathered after the step.
 *
 * <p>Thread safety: see {@link DataParallelOptimizer}.
 */
public final class ZeroStage2 extends DataParallelOptimizer {

    private final Pieces pieces;
    private final ShardedGradients grads;

    ZeroStage2(Spec spec) {
        super(2, spec, false, Math.max(1, spec.bucketBytes() / 4));
        this.pieces = new Pieces(buffer, buckets, context, spec.optimizer(), manager);
        this.grads = new ShardedGradients(buffer, buckets, pieces, dp, manager);
    }

    @Override
    protected ParameterAccess access() {
        return new ParameterAccess() {
            @Override
            public NDArray acquire(Parameter p, NDManager scratch) {
                return p.data();
            }

            @Override
            public void accumulateGradient(Parameter p, NDArray grad) {
                grads.accumulate(p, grad);
            }

            @Override
            public void release(Parameter p) {}
        };
    }

    @Override
    protected boolean reducesEveryMicroBatch() {
        return true;
    }

    @Override
    protected void launch(Bucket b) {
        grads.launch(b);
    }

    @Override
    protected void afterBackward() {
        grads.finish();
    }

    @Override
    public StepResult step(double lr, double maxGradNorm) {
        List<NDArray> views = new ArrayList<>();
        for (Bucket b : buckets) {
            views.add(pieces.compact(grads.shard(), b));
        }
        StepResult r = clip(pieces.ranges(), views, Sharding.PARTITIONED, maxGradNorm);
        try (Torch.GradMode g = Torch.gradMode(false); NDManager scratch = manager.newSubManager()) {
            if (!r.skipped()) {
                for (Bucket b : buckets) {
                    pieces.optimizer(b).step(pieces.inBuffer(buffer.params(), b), views.get(b.index()), lr);
                }
                AllGatherPieces.run(dp, buffer.params(), buckets, pieces, scratch, this::bucketView);
            }
            grads.zero();
        }
        return r;
    }

    @Override
    public ModelStateMemory memory() {
        return new ModelStateMemory(2, buffer.numel(), dp.size(), buffer.numel() * 4, grads.bytes(), pieces.optimizerBytes());
    }

    @Override
    protected NDArray parameterState() {
        return buffer.params();
    }

    @Override
    protected List<io.tessera.optim.Optimizer> optimizers() {
        return pieces.optimizers();
    }

    @Override
    public void close() {
        grads.close();
        pieces.close();
        super.close();
    }
}
