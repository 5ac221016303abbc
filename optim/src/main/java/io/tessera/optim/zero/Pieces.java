package io.tessera.optim.zero;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.optim.FlatRange;
import io.tessera.optim.Optimizer;
import io.tessera.optim.Sharding;
import io.tessera.optim.TensorNorms;
import io.tessera.parallel.ParallelContext;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * This rank's pieces of every bucket, with one optimizer per piece and their places in a compact shard
 * array (the concatenation of the pieces in bucket order):
 *
 * <pre>
 *   flat buffer   [ b1: r0 | r1 ][ b0: r0 | r1 ]
 *   shard of r1               [r1]           [r1]   → compact [ b0·r1 | b1·r1 ]
 * </pre>
 *
 * <p>Thread safety: not thread-safe; owned by one stage object.
 */
final class Pieces implements AutoCloseable {

    private final List<FlatRange> ranges = new ArrayList<>();
    private final List<Optimizer> optimizers = new ArrayList<>();
    private final long[] compactOffset;
    private final long total;
    private final Map<NDArray, NDArray[]> views = new IdentityHashMap<>();
    private final Map<NDArray, NDArray[]> bufferViews = new IdentityHashMap<>();

    Pieces(ParameterBuffer buffer, List<Bucket> buckets, ParallelContext context, OptimizerFactory factory, NDManager manager) {
        int parts = context.dataSize();
        int rank = context.dataRank();
        TensorNorms norms = TensorNorms.of(context, Sharding.PARTITIONED);
        compactOffset = new long[buckets.size()];
        long offset = 0;
        for (Bucket b : buckets) {
            long from = b.pieceFrom(parts, rank);
            FlatRange range = FlatRange.of(buffer, from, from + b.pieceLength(parts, rank));
            ranges.add(range);
            optimizers.add(factory.create(range, norms, manager));
            compactOffset[b.index()] = offset;
            offset += range.length();
        }
        total = offset;
    }

    /** @return elements over all pieces: this rank's shard size */
    long total() {
        return total;
    }

    List<FlatRange> ranges() {
        return ranges;
    }

    FlatRange range(Bucket b) {
        return ranges.get(b.index());
    }

    List<Optimizer> optimizers() {
        return optimizers;
    }

    Optimizer optimizer(Bucket b) {
        return optimizers.get(b.index());
    }

    /** The piece of bucket b within a compact shard array (a cached view; do not close). */
    NDArray compact(NDArray shard, Bucket b) {
        NDArray[] cached = views.computeIfAbsent(shard, k -> new NDArray[ranges.size()]);
        if (cached[b.index()] == null) {
            cached[b.index()] = DataParallelOptimizer.slice(shard, compactOffset[b.index()], ranges.get(b.index()).length());
        }
        return cached[b.index()];
    }

    /** Closes the cached views of an array that is about to be freed, so they do not keep its memory alive. */
    void forget(NDArray array) {
        for (Map<NDArray, NDArray[]> m : List.of(views, bufferViews)) {
            NDArray[] cached = m.remove(array);
            if (cached != null) {
                for (NDArray v : cached) {
                    if (v != null) {
                        v.close();
                    }
                }
            }
        }
    }

    /** The piece of bucket b within a whole-buffer array (a cached view; do not close). */
    NDArray inBuffer(NDArray flat, Bucket b) {
        NDArray[] cached = bufferViews.computeIfAbsent(flat, k -> new NDArray[ranges.size()]);
        if (cached[b.index()] == null) {
            cached[b.index()] = ranges.get(b.index()).view(flat);
        }
        return cached[b.index()];
    }

    long optimizerBytes() {
        long bytes = 0;
        for (Optimizer o : optimizers) {
            bytes += o.state().bytes();
        }
        return bytes;
    }

    @Override
    public void close() {
        optimizers.forEach(Optimizer::close);
    }
}
