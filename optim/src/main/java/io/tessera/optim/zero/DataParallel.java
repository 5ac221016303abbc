package io.tessera.optim.zero;

import ai.djl.ndarray.NDArray;
import io.tessera.core.Tensors;
import io.tessera.core.Torch;
import io.tessera.optim.FlatRange;
import io.tessera.optim.Optimizer;
import io.tessera.optim.Sharding;
import io.tessera.optim.TensorNorms;
import io.tessera.parallel.comm.ReduceOp;
import io.tessera.parallel.comm.Work;
import java.util.ArrayList;
import java.util.List;

/**
 * ZeRO stage 0: plain data parallelism as PyTorch DDP. Every rank holds all parameters, gradients and
 * optimizer states; each bucket's gradients are all-reduced (sum) as soon as backward has finished
 * them, on the last micro-batch of a step only (gradient accumulation communicates once).
 *
 * <p>Thread safety: see {@link DataParallelOptimizer}.
 */
public final class DataParallel extends DataParallelOptimizer {

    private final FlatRange range;
    private final Optimizer optimizer;
    private final List<Work> inFlight = new ArrayList<>();

    DataParallel(Spec spec) {
        super(0, spec, true, Math.max(1, spec.bucketBytes() / 4));
        this.range = FlatRange.of(buffer);
        this.optimizer = spec.optimizer().create(range, TensorNorms.of(context, Sharding.REPLICATED), manager);
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
        StepResult r = clip(List.of(range), List.of(grads), Sharding.REPLICATED, maxGradNorm, lossScale);
        try (Torch.GradMode g = Torch.gradMode(false)) {
            if (!r.skipped()) {
                optimizer.step(buffer.params(), grads, lr);
            }
            Tensors.fill(grads, 0f);
        }
        return r;
    }

    @Override
    public ModelStateMemory memory() {
        return new ModelStateMemory(0, buffer.numel(), dp.size(), buffer.numel() * 4, buffer.numel() * 4,
                optimizer.state().bytes());
    }

    @Override
    protected NDArray parameterState() {
        return buffer.params();
    }

    @Override
    protected List<Optimizer> optimizers() {
        return List.of(optimizer);
    }

    @Override
    public void close() {
        optimizer.close();
        super.close();
    }
}
