package io.tessera.optim.zero;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.Tensors;
import io.tessera.core.Torch;
import io.tessera.optim.Sharding;
import io.tessera.parallel.comm.ReduceOp;
import io.tessera.parallel.comm.Work;
import java.util.ArrayList;
import java.util.List;

/**
 * ZeRO stage 1: optimizer states partitioned. Every rank keeps all parameters and the full gradient;
 * gradients are all-reduced per bucket as in {@link DataParallel}, each rank updates only its piece of
 * every bucket with its own share of the optimizer state (K·Ψ/Nd bytes), and the updated pieces are
 * all-gathered back into every rank's parameters.
 *
 * <p>Thread safety: see {@link DataParallelOptimizer}.
 */
public final class ZeroStage1 extends DataParallelOptimizer {

    private final Pieces pieces;
    private final List<Work> inFlight = new ArrayList<>();

    ZeroStage1(Spec spec) {
        super(1, spec, true, Math.max(1, spec.bucketBytes() / 4));
        this.pieces = new Pieces(buffer, buckets, context, spec.optimizer(), manager);
    }

    @Override
    protected void launch(Bucket b) {
        inFlight.add(dp.allReduceAsync(bucketView(buffer.grads(), b), ReduceOp.SUM));
    }

    @Override
    protected void awaitReductions() {
        inFlight.forEach(Work::await);
        inFlight.clear();
    }

    @Override
    protected StepResult applyStep(double lr, double maxGradNorm, double lossScale) {
        inFlight.forEach(Work::await);
        inFlight.clear();
        NDArray grads = buffer.grads();
        List<NDArray> views = new ArrayList<>();
        for (Bucket b : buckets) {
            views.add(pieces.inBuffer(grads, b));
        }
        StepResult r = clip(pieces.ranges(), views, Sharding.PARTITIONED, maxGradNorm, lossScale);
        try (Torch.GradMode g = Torch.gradMode(false); NDManager scratch = manager.newSubManager()) {
            if (!r.skipped()) {
                for (Bucket b : buckets) {
                    pieces.optimizer(b).step(pieces.inBuffer(buffer.params(), b), views.get(b.index()), lr);
                }
                AllGatherPieces.run(dp, buffer.params(), buckets, pieces, scratch, this::bucketView);
            }
            Tensors.fill(grads, 0f);
        }
        return r;
    }

    @Override
    public ModelStateMemory memory() {
        return new ModelStateMemory(1, buffer.numel(), dp.size(), buffer.numel() * 4, buffer.numel() * 4, pieces.optimizerBytes());
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
        pieces.close();
        super.close();
    }
}
