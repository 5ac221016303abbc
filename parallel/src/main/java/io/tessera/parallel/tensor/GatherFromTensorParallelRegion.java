package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDList;
import io.tessera.core.tape.FunctionContext;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.TapeFunction;
import io.tessera.core.tape.Var;
import io.tessera.parallel.comm.Communicator;
import java.util.Objects;

/**
 * Joins the ranks' slices of a split activation along its last dimension.
 *
 * <p><b>Forward: {@code y = concat_ranks(x)} along the last dimension (all-gather). Backward:
 * {@code dx = dy[..., r·n : (r+1)·n]} on rank {@code r}, where {@code n} is the local width.</b>
 *
 * <p>Used behind a column-parallel layer whose output must be whole (gathered logits for evaluation,
 * {@code gatherOutput} layers). A group of one rank records no node.
 *
 * <p>Thread safety: immutable; the communicator is used from the tape's thread.
 */
public final class GatherFromTensorParallelRegion implements TapeFunction {

    private final Communicator group;

    /**
     * @param group the tensor-parallel group
     */
    public GatherFromTensorParallelRegion(Communicator group) {
        this.group = Objects.requireNonNull(group, "group");
    }

    /**
     * Records the gather on the tape, or returns {@code x} itself for a group of one rank.
     *
     * @param tape the step's tape
     * @param group the tensor-parallel group
     * @param name node name
     * @param x this rank's slice, the same shape on every rank
     * @return the concatenation over the group, the same on every rank
     */
    public static Var apply(Tape tape, Communicator group, String name, Var x) {
        if (group.size() == 1) {
            return x;
        }
        return tape.call1(name, new GatherFromTensorParallelRegion(group), x);
    }

    @Override
    public NDList forward(FunctionContext ctx, NDList inputs) {
        return new NDList(RegionTensors.allGatherLastDim(group, ctx.manager(), inputs.singletonOrThrow()));
    }

    @Override
    public NDList backward(FunctionContext ctx, NDList outputCotangents) {
        return new NDList(RegionTensors.sliceLastDim(ctx.manager(), outputCotangents.singletonOrThrow(), group.rank(),
                group.size(), "gather from tensor-parallel region over " + group.name()));
    }
}
