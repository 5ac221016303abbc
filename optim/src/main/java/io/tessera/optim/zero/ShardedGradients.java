package io.tessera.optim.zero;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Tensors;
import io.tessera.core.Torch;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.ReduceOp;
import io.tessera.parallel.comm.Work;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The gradient shard of ZeRO stages 2 and 3: this rank keeps only its piece of every bucket's
 * gradient (Ψ/Nd elements). During backward, a bucket's gradients accumulate in a staging array that
 * lives only until the bucket is final; then one reduce-scatter (sum) delivers each rank its piece,
 * which is added to the shard once the collective completes.
 *
 * <pre>
 *   node backward ─▶ staging[b] += g          (allocated on the bucket's first gradient)
 *   bucket final  ─▶ reduce-scatter(staging[b]) → piece        (async, overlaps backward)
 *   end of backward ─▶ await; shard[b] += piece; free staging and piece
 * </pre>
 *
 * <p>Thread safety: not thread-safe; used by the rank's training thread.
 */
final class ShardedGradients implements AutoCloseable {

    private final ParameterBuffer buffer;
    private final Map<Parameter, Bucket> bucketOf;
    private final Pieces pieces;
    private final Communicator dp;
    private final NDManager manager;
    private final NDArray shard;
    private final NDArray[] staging;
    private final List<Pending> inFlight = new ArrayList<>();

    private record Pending(Bucket bucket, Work work, NDArray staging, NDArray piece) {}

    ShardedGradients(ParameterBuffer buffer, List<Bucket> buckets, Pieces pieces, Communicator dp, NDManager parent) {
        this.buffer = buffer;
        this.pieces = pieces;
        this.dp = dp;
        this.manager = parent.newSubManager();
        this.bucketOf = new IdentityHashMap<>();
        for (Bucket b : buckets) {
            for (Parameter p : b.parameters()) {
                bucketOf.put(p, b);
            }
        }
        this.staging = new NDArray[buckets.size()];
        this.shard = manager.zeros(new Shape(pieces.total()), DataType.FLOAT32);
    }

    /** Adds a gradient contribution of one parameter into its bucket's staging array. */
    void accumulate(Parameter p, NDArray g) {
        Bucket b = bucketOf.get(p);
        NDArray s = staging[b.index()];
        if (s == null) {
            s = manager.zeros(new Shape(b.length()), DataType.FLOAT32);
            staging[b.index()] = s;
        }
        long off = buffer.offset(p) - b.from();
        try (NDArray view = DataParallelOptimizer.slice(s, off, p.numel()); NDArray flat = g.reshape(p.numel())) {
            view.addi(flat);
        }
    }

    /** Starts the reduce-scatter of a final bucket. */
    void launch(Bucket b) {
        NDArray s = staging[b.index()];
        if (s == null) {
            s = manager.zeros(new Shape(b.length()), DataType.FLOAT32);
        }
        staging[b.index()] = null;
        NDArray piece = manager.zeros(new Shape(pieces.range(b).length()), DataType.FLOAT32);
        inFlight.add(new Pending(b, dp.reduceScatterAsync(s, piece, ReduceOp.SUM), s, piece));
    }

    /** Waits for this micro-batch's reductions and adds the pieces into the shard. */
    void finish() {
        try (Torch.GradMode g = Torch.gradMode(false)) {
            for (Pending p : inFlight) {
                p.work().await();
                pieces.compact(shard, p.bucket()).addi(p.piece());
                p.staging().close();
                p.piece().close();
            }
        }
        inFlight.clear();
    }

    /** @return this rank's gradient shard, laid out as the compact concatenation of its pieces */
    NDArray shard() {
        return shard;
    }

    void zero() {
        Tensors.fill(shard, 0f);
    }

    long bytes() {
        return shard.size() * 4;
    }

    @Override
    public void close() {
        manager.close();
    }
}
