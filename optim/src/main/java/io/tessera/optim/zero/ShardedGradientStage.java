package io.tessera.optim.zero;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.tessera.core.Tensors;
import io.tessera.core.Torch;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.ParameterAccess;
import io.tessera.optim.Optimizer;
import io.tessera.optim.Sharding;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What ZeRO stages 2 and 3 share: a gradient shard fed by per-bucket reduce-scatters after every
 * micro-batch's backward, one optimizer per bucket piece, and a step over the pieces. The stages differ
 * only in where a piece's parameters live and what follows the update.
 *
 * <p>Thread safety: see {@link DataParallelOptimizer}.
 */
abstract class ShardedGradientStage extends DataParallelOptimizer {

    protected final Pieces pieces;
    protected final ShardedGradients grads;
    private final Map<Parameter, NDArray> heldBack = new IdentityHashMap<>();

    ShardedGradientStage(int stage, Spec spec, long bucketElements) {
        super(stage, spec, false, bucketElements);
        this.pieces = new Pieces(buffer, buckets, context, spec.optimizer(), manager);
        this.grads = new ShardedGradients(buffer, buckets, pieces, dp, manager);
    }

    /**
     * @param b a bucket
     * @return this rank's parameters of that bucket's piece, updated in place by the step
     */
    protected abstract NDArray parameterPiece(Bucket b);

    /**
     * Called after the pieces were updated (stage 2 all-gathers the parameters).
     *
     * @param scratch a manager freed when the step ends
     */
    protected void afterUpdate(NDManager scratch) {}

    /**
     * @param p a parameter a node needs
     * @return its full local value
     */
    protected abstract NDArray acquire(Parameter p);

    /**
     * @param p a parameter a node no longer needs
     */
    protected void release(Parameter p) {}

    @Override
    protected final ParameterAccess access() {
        return new ParameterAccess() {
            @Override
            public NDArray acquire(Parameter p, NDManager scratch) {
                return ShardedGradientStage.this.acquire(p);
            }

            @Override
            public void accumulateGradient(Parameter p, NDArray grad) {
                NDArray held = heldBack.get(p);
                if (held != null) {
                    try (Torch.GradMode g = Torch.gradMode(false)) {
                        held.addi(grad.reshape(held.getShape()));
                    }
                } else {
                    grads.accumulate(p, grad);
                }
            }

            @Override
            public void release(Parameter p) {
                ShardedGradientStage.this.release(p);
            }
        };
    }

    @Override
    public void holdBackGradients(Set<Parameter> parameters) {
        if (stage() != 2) {
            super.holdBackGradients(parameters);
        }
        for (Parameter p : parameters) {
            heldBack.computeIfAbsent(p, k -> manager.zeros(k.shape(), DataType.FLOAT32));
        }
    }

    @Override
    public NDArray heldBackGradient(Parameter p) {
        NDArray held = heldBack.get(p);
        if (held == null) {
            throw new IllegalArgumentException(p.name() + " is not held back; call holdBackGradients first");
        }
        return held;
    }

    @Override
    public void reduceHeldBack() {
        if (heldBack.isEmpty()) {
            return;
        }
        Set<Bucket> touched = new LinkedHashSet<>();
        try (Torch.GradMode g = Torch.gradMode(false)) {
            for (Bucket b : buckets) {
                for (Parameter p : b.parameters()) {
                    NDArray held = heldBack.get(p);
                    if (held != null) {
                        grads.accumulate(p, held);
                        touched.add(b);
                    }
                }
            }
            touched.forEach(grads::launch);
            grads.finish();
            heldBack.values().forEach(a -> Tensors.fill(a, 0f));
        }
    }

    @Override
    protected final boolean reducesEveryMicroBatch() {
        return true;
    }

    @Override
    protected final void launch(Bucket b) {
        grads.launch(b);
    }

    @Override
    protected final void afterBackward() {
        grads.finish();
    }

    @Override
    protected final StepResult applyStep(double lr, double maxGradNorm, double lossScale) {
        List<NDArray> views = new ArrayList<>();
        for (Bucket b : buckets) {
            views.add(pieces.compact(grads.shard(), b));
        }
        StepResult r = clip(pieces.ranges(), views, Sharding.PARTITIONED, maxGradNorm, lossScale);
        try (Torch.GradMode g = Torch.gradMode(false); NDManager scratch = manager.newSubManager()) {
            if (!r.skipped()) {
                for (Bucket b : buckets) {
                    pieces.optimizer(b).step(parameterPiece(b), views.get(b.index()), lr);
                }
                afterUpdate(scratch);
            }
            grads.zero();
        }
        return r;
    }

    @Override
    protected final List<Optimizer> optimizers() {
        return pieces.optimizers();
    }

    @Override
    public void close() {
        grads.close();
        pieces.close();
        super.close();
    }
}
