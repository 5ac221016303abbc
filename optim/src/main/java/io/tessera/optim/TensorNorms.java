package io.tessera.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.tessera.core.Torch;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.ReduceOp;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * Per-tensor sums of squares of flat arrays, completed across the ranks that hold pieces of each tensor.
 * LAMB's trust ratios and the global gradient norm are built on it.
 *
 * <pre>
 *   local piece of tensor t on this rank:   s_t = Σ_{i ∈ piece(t)} x_i²
 *   tensor-parallel group (size T, rank τ): split tensor      S_t = Σ_τ s_t
 *                                           replicated tensor S_t = s_t of τ = 0 (counted once)
 *   data-parallel group, PARTITIONED range: S_t ← Σ_dp S_t  (ZeRO shards are disjoint)
 * </pre>
 *
 * <p>Collectives: the partial sums of all tensors and all arrays go into one small fp32 vector of
 * {@code arrays × tensorCount} entries; one all-reduce (SUM) over the tensor-parallel group when it has
 * more than one rank, then one over the data-parallel group when the range is {@link Sharding#PARTITIONED}.
 * Entries of replicated tensors are zeroed on tensor ranks other than 0 before the first, so the
 * tensor-parallel all-reduce adds up split tensors only. Every rank of both groups must call
 * {@link #sumOfSquares} at the same point with the same number of arrays.
 *
 * <p>Thread safety: immutable; calls issue collectives on the caller's thread, so one thread per rank.
 */
public final class TensorNorms {

    private final Communicator tensorGroup;
    private final Communicator dataGroup;
    private final Sharding sharding;

    private TensorNorms(Communicator tensorGroup, Communicator dataGroup, Sharding sharding) {
        this.tensorGroup = tensorGroup;
        this.dataGroup = dataGroup;
        this.sharding = Objects.requireNonNull(sharding, "sharding");
        if (sharding == Sharding.PARTITIONED && dataGroup == null) {
            throw new IllegalArgumentException("TensorNorms: sharding PARTITIONED needs the data-parallel communicator;"
                    + " pass ParallelContext.data()");
        }
    }

    /** @return sums over the local arrays only (one rank, no tensor or data parallelism) */
    public static TensorNorms local() {
        return new TensorNorms(null, null, Sharding.REPLICATED);
    }

    /**
     * @param context this rank's groups
     * @param sharding how the arrays passed in are held across the data-parallel group
     * @return sums completed over the tensor-parallel group and, when partitioned, the data-parallel group
     */
    public static TensorNorms of(ParallelContext context, Sharding sharding) {
        return of(context.tensor(), context.data(), sharding);
    }

    /**
     * @param tensorGroup the tensor-parallel communicator
     * @param dataGroup the data-parallel communicator (only used when {@code sharding} is PARTITIONED)
     * @param sharding how the arrays passed in are held across the data-parallel group
     * @return sums completed over those groups
     */
    public static TensorNorms of(Communicator tensorGroup, Communicator dataGroup, Sharding sharding) {
        return new TensorNorms(Objects.requireNonNull(tensorGroup, "tensorGroup"), dataGroup, sharding);
    }

    /** @return how the arrays are held across the data-parallel group */
    public Sharding sharding() {
        return sharding;
    }

    /**
     * Full-tensor sums of squares {@code S_t} of each array, for the tensors that have a segment in the
     * range satisfying {@code include}; entries of other tensors are 0.
     *
     * @param range the segment table the arrays are laid out by
     * @param include which segments take part (the same decision on every rank)
     * @param arrays 1-D fp32 arrays of the range's length
     * @return {@code result[a][t]} = S_t of array a
     */
    public double[][] sumOfSquares(FlatRange range, Predicate<FlatSegment> include, NDArray... arrays) {
        if (arrays.length == 0) {
            throw new IllegalArgumentException("sumOfSquares: pass at least one array");
        }
        for (NDArray a : arrays) {
            range.checkArray(a, "sumOfSquares array");
            Checks.float32(a, "sumOfSquares array");
        }
        double[][] sums = localSums(range, include, arrays);
        boolean overTensor = tensorGroup != null && tensorGroup.size() > 1;
        boolean overData = sharding == Sharding.PARTITIONED && dataGroup.size() > 1;
        if (overTensor || overData) {
            complete(sums, arrays[0].getManager(), overTensor, overData);
        }
        return sums;
    }

    /** Sums over this rank's pieces; replicated tensors count only on tensor rank 0. */
    @SuppressWarnings("try") // the scopes act by being opened and closed
    private double[][] localSums(FlatRange range, Predicate<FlatSegment> include, NDArray[] arrays) {
        double[][] result = new double[arrays.length][range.tensorCount()];
        List<FlatSegment> segments = range.segments().stream().filter(include).toList();
        if (segments.isEmpty()) {
            return result;
        }
        float[] sums;
        try (NDScope scope = new NDScope(); Torch.GradMode g = Torch.gradMode(false)) {
            NDList partials = new NDList(segments.size() * arrays.length);
            for (NDArray a : arrays) {
                for (FlatSegment s : segments) {
                    NDArray piece = s.view(a);
                    partials.add(piece.dot(piece));
                }
            }
            sums = NDArrays.stack(partials).toFloatArray();
        }
        boolean dropReplicated = tensorGroup != null && tensorGroup.size() > 1 && tensorGroup.rank() != 0;
        for (int a = 0; a < arrays.length; a++) {
            for (int k = 0; k < segments.size(); k++) {
                FlatSegment s = segments.get(k);
                if (!(dropReplicated && s.partition().replicated())) {
                    result[a][s.tensorIndex()] += sums[a * segments.size() + k];
                }
            }
        }
        return result;
    }

    /**
     * Adds up the partial sums over the groups, in one vector per group. Runs outside any scope of ours:
     * a communicator may keep arrays it creates on this thread.
     */
    private void complete(double[][] sums, NDManager device, boolean overTensor, boolean overData) {
        int tensors = sums[0].length;
        float[] packed = new float[sums.length * tensors];
        for (int a = 0; a < sums.length; a++) {
            for (int t = 0; t < tensors; t++) {
                packed[a * tensors + t] = (float) sums[a][t];
            }
        }
        float[] reduced;
        try (NDManager scratch = device.newSubManager()) {
            NDArray vector = scratch.create(packed);
            if (overTensor) {
                tensorGroup.allReduce(vector, ReduceOp.SUM);
            }
            if (overData) {
                dataGroup.allReduce(vector, ReduceOp.SUM);
            }
            reduced = vector.toFloatArray();
        }
        for (int a = 0; a < sums.length; a++) {
            for (int t = 0; t < tensors; t++) {
                sums[a][t] = reduced[a * tensors + t];
            }
        }
    }
}
