package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDList;
import io.tessera.core.tape.FunctionContext;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.TapeFunction;
import io.tessera.core.tape.Var;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.ReduceOp;
import java.util.Objects;

/**
 * Megatron's {@code g}: leaves the tensor-parallel region by summing the ranks' partial results.
 *
 * <p><b>Forward: {@code y = Σ_ranks x} (all-reduce SUM over the tensor-parallel group). Backward:
 * {@code dx = dy} (identity).</b>
 *
 * <p>It stands behind a row-parallel layer, whose ranks each produce a partial sum of the output. The
 * input is not modified: the reduction runs on a copy. A group of one rank records no node.
 *
 * <p>Thread safety: immutable; the communicator is used from the tape's thread.
 */
public final class ReduceFromTensorParallelRegion implements TapeFunction {

    private final Communicator group;

    /**
     * @param group the tensor-parallel group
     */
    public ReduceFromTensorParallelRegion(Communicator group) {
        this.group = Objects.requireNonNull(group, "group");
    }

    /**
     * Records {@code g} on the tape, or returns {@code x} itself for a group of one rank.
     *
     * @param tape the step's tape
     * @param group the tensor-parallel group
     * @param name node name, e.g. {@code transformer.h.0.attn.reduce}
     * @param x this rank's partial sum
     * @return the sum over the group, the same on every rank
     */
    public static Var apply(Tape tape, Communicator group, String name, Var x) {
        if (group.size() == 1) {
            return x;
        }
        return tape.call1(name, new ReduceFromTensorParallelRegion(group), x);
    }

    @Override
    public NDList forward(FunctionContext ctx, NDList inputs) {
        return new NDList(RegionTensors.allReduce(group, ctx.manager(), inputs.singletonOrThrow(), ReduceOp.SUM));
    }

    @Override
    public NDList backward(FunctionContext ctx, NDList outputCotangents) {
        return new NDList(outputCotangents.singletonOrThrow());
    }
}
