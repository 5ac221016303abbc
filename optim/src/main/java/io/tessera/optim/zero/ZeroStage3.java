package io.tessera.optim.zero;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Tensors;
import io.tessera.core.Torch;
import io.tessera.core.nn.Parameter;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * ZeRO stage 3: optimizer states, gradients and parameters partitioned. Each parameter is its own
 * bucket; this rank keeps its piece of every parameter ((2+2+K)·Ψ/Nd bytes in all). A node gathers the
 * parameters it uses (all-gather) just before its forward and frees them after; every node is
 * checkpointed, so backward gathers them again before rerunning the node. Gradients are
 * reduce-scattered per parameter as soon as they are final.
 *
 * <p>The full model is materialised once at start-up to initialise it exactly as degree 1 would, then
 * released; after that the parameters exist only as shards and transient per-node gathers.
 *
 * <p>Thread safety: see {@link DataParallelOptimizer}.
 */
public final class ZeroStage3 extends ShardedGradientStage {

    private final NDArray shardParams;
    private final Map<Parameter, Bucket> bucketOf = new IdentityHashMap<>();
    private final Map<Parameter, Gathered> gathered = new IdentityHashMap<>();

    private static final class Gathered {
        final NDArray value;
        int holders;

        Gathered(NDArray value) {
            this.value = value;
        }
    }

    ZeroStage3(Spec spec) {
        super(3, spec, 1);
        this.shardParams = manager.zeros(new Shape(pieces.total()), DataType.FLOAT32);
        try (Torch.GradMode g = Torch.gradMode(false)) {
            for (Bucket b : buckets) {
                bucketOf.put(b.parameters().get(0), b);
                Tensors.copyInto(pieces.compact(shardParams, b), pieces.inBuffer(buffer.params(), b));
            }
        }
        pieces.forget(buffer.params());
        buffer.releaseParameters();
    }

    @Override
    protected NDArray acquire(Parameter p) {
        Gathered g = gathered.get(p);
        if (g == null) {
            g = new Gathered(gather(p, manager));
            gathered.put(p, g);
        }
        g.holders++;
        return g.value;
    }

    @Override
    protected void release(Parameter p) {
        Gathered g = gathered.get(p);
        if (g != null && --g.holders == 0) {
            gathered.remove(p);
            g.value.close();
        }
    }

    /**
     * Gathers a full parameter from the ranks' pieces. Collective: every rank of the data-parallel group
     * must call it for the same parameter.
     *
     * @param p the parameter
     * @param owner manager of the result
     * @return its full local value
     */
    public NDArray gather(Parameter p, NDManager owner) {
        NDArray full = owner.zeros(new Shape(p.numel()), DataType.FLOAT32);
        try (NDArray mine = pieces.compact(shardParams, bucketOf.get(p)).duplicate()) {
            dp.allGather(mine, full);
        }
        NDArray shaped = full.reshape(p.shape());
        full.close();
        return shaped;
    }

    @Override
    public void withFullParameters(WithParameters work) throws java.io.IOException {
        buffer.restoreParameters();
        try {
            try (Torch.GradMode g = Torch.gradMode(false); NDManager scratch = manager.newSubManager()) {
                List<io.tessera.parallel.comm.Work> works = new ArrayList<>();
                for (Bucket b : buckets) {
                    NDArray mine = pieces.compact(shardParams, b).duplicate();
                    mine.attach(scratch);
                    works.add(dp.allGatherAsync(mine, bucketView(buffer.params(), b)));
                }
                works.forEach(io.tessera.parallel.comm.Work::await);
            }
            work.run();
        } finally {
            forgetBucketViews(buffer.params());
            buffer.releaseParameters();
        }
    }

    @Override
    protected void loadFullParameters(NDArray full) {
        for (Bucket b : buckets) {
            try (NDArray piece = pieces.range(b).view(full)) {
                Tensors.copyInto(pieces.compact(shardParams, b), piece);
            }
        }
    }

    @Override
    protected boolean gathersParameters() {
        return true;
    }

    @Override
    protected NDArray parameterPiece(Bucket b) {
        return pieces.compact(shardParams, b);
    }

    @Override
    public ModelStateMemory memory() {
        return new ModelStateMemory(3, buffer.numel(), dp.size(), shardParams.size() * 4, grads.bytes(), pieces.optimizerBytes());
    }

    @Override
    protected NDArray parameterState() {
        return shardParams;
    }

    @Override
    public void close() {
        gathered.values().forEach(g -> g.value.close());
        gathered.clear();
        super.close();
    }
}
