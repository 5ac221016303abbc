package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDList;
import io.tessera.core.tape.FunctionContext;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.TapeFunction;
import io.tessera.core.tape.Var;
import io.tessera.parallel.comm.Communicator;
import java.util.Objects;

/**
 * Splits a replicated activation along its last dimension, each rank keeping its slice.
 *
 * <p><b>Forward: {@code y = x[..., r·n/p : (r+1)·n/p]} on rank {@code r} of {@code p}. Backward:
 * {@code dx = concat_ranks(dy)} along the last dimension (all-gather).</b>
 *
 * <p>Used in front of a row-parallel layer whose input is not already split. A group of one rank
 * records no node.
 *
 * <p>Thread safety: immutable; the communicator is used from the tape's thread.
 */
public final class ScatterToTensorParallelRegion implements TapeFunction {

    private final Communicator group;

    /**
     * @param group the tensor-parallel group
     */
    public ScatterToTensorParallelRegion(Communicator group) {
        this.group = Objects.requireNonNull(group, "group");
    }

    /**
     * Records the scatter on the tape, or returns {@code x} itself for a group of one rank.
     *
     * @param tape the step's tape
     * @param group the tensor-parallel group
     * @param name node name
     * @param x a replicated activation whose last dimension the group size divides
     * @return this rank's slice of the last dimension
     */
    public static Var apply(Tape tape, Communicator group, String name, Var x) {
        if (group.size() == 1) {
            return x;
        }
        return tape.call1(name, new ScatterToTensorParallelRegion(group), x);
    }

    @Override
    public NDList forward(FunctionContext ctx, NDList inputs) {
        return new NDList(RegionTensors.sliceLastDim(ctx.manager(), inputs.singletonOrThrow(), group.rank(), group.size(),
                "scatter to tensor-parallel region over " + group.name()));
    }

    @Override
    public NDList backward(FunctionContext ctx, NDList outputCotangents) {
        return new NDList(RegionTensors.allGatherLastDim(group, ctx.manager(), outputCotangents.singletonOrThrow()));
    }
}
