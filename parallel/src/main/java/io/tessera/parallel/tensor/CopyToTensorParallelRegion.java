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
 * Megatron's {@code f}: enters the tensor-parallel region with a replicated activation.
 *
 * <p><b>Forward: {@code y = x} (identity). Backward: {@code dx = Σ_ranks dy} (all-reduce SUM over the
 * tensor-parallel group).</b>
 *
 * <p>It stands in front of a column-parallel layer: every rank reads the whole of {@code x}, but each
 * rank's part of the layer contributes only its share of {@code dL/dx}, so the shares are summed.
 * A group of one rank records no node.
 *
 * <p>Thread safety: immutable; the communicator is used from the tape's thread.
 */
public final class CopyToTensorParallelRegion implements TapeFunction {

    private final Communicator group;

    /**
     * @param group the tensor-parallel group
     */
    public CopyToTensorParallelRegion(Communicator group) {
        this.group = Objects.requireNonNull(group, "group");
    }

    /**
     * Records {@code f} on the tape, or returns {@code x} itself for a group of one rank.
     *
     * @param tape the step's tape
     * @param group the tensor-parallel group
     * @param name node name, e.g. {@code transformer.h.0.attn.copy}
     * @param x a replicated activation
     * @return the same values, with an all-reducing backward
     */
    public static Var apply(Tape tape, Communicator group, String name, Var x) {
        if (group.size() == 1) {
            return x;
        }
        return tape.call1(name, new CopyToTensorParallelRegion(group), x);
    }

    @Override
    public NDList forward(FunctionContext ctx, NDList inputs) {
        return new NDList(inputs.singletonOrThrow());
    }

    @Override
    public NDList backward(FunctionContext ctx, NDList outputCotangents) {
        return new NDList(RegionTensors.allReduce(group, ctx.manager(), outputCotangents.singletonOrThrow(), ReduceOp.SUM));
    }
}
