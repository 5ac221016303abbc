package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDList;
import io.tessera.core.tape.FunctionContext;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.TapeFunction;
import io.tessera.core.tape.Var;
import io.tessera.parallel.comm.Communicator;
import java.util.Objects;

/**
 * Leaves a tensor-parallel region for the sequence-parallel one: replaces {@code g} (the all-reduce
 * behind a row-parallel layer) under sequence parallelism (the {@code ḡ} of Korthikanti et al., 2022).
 *
 * <p><b>Forward: {@code y = (Σ_ranks x)[:, r·T/p : (r+1)·T/p]} on rank {@code r} (reduce-scatter SUM
 * along the sequence), {@code x [B, T, ...]}, {@code y [B, T/p, ...]}. Backward: {@code dx =
 * concat_ranks(dy)} along the sequence (all-gather).</b>
 *
 * <p>Each rank's row-parallel slice produces a partial sum over the whole sequence; each rank keeps the
 * sum of its own positions, and since {@code x}'s partial products all need the whole {@code dL/dy},
 * the backward gathers it. A reduce-scatter moves half the data of an all-reduce, which is a
 * reduce-scatter followed by an all-gather. {@code T} must be divisible by {@code p}. A group of one
 * rank records no node.
 *
 * <p>Thread safety: immutable; the communicator is used from the tape's thread.
 */
public final class ReduceScatterToSequenceParallelRegion implements TapeFunction {

    private final Communicator group;

    /**
     * @param group the tensor-parallel group
     */
    public ReduceScatterToSequenceParallelRegion(Communicator group) {
        this.group = Objects.requireNonNull(group, "group");
    }

    /**
     * Records the reduce-scatter on the tape, or returns {@code x} itself for a group of one rank.
     *
     * @param tape the step's tape
     * @param group the tensor-parallel group
     * @param name node name, e.g. {@code transformer.h.0.attn.reduce_scatter}
     * @param x {@code [B, T, ...]}, this rank's partial sum
     * @return {@code [B, T/p, ...]}, the sum over the group at this rank's positions
     * @throws IllegalArgumentException if the group's size does not divide {@code T}
     */
    public static Var apply(Tape tape, Communicator group, String name, Var x) {
        if (group.size() == 1) {
            return x;
        }
        return tape.call1(name, new ReduceScatterToSequenceParallelRegion(group), x);
    }

    @Override
    public NDList forward(FunctionContext ctx, NDList inputs) {
        return new NDList(SequenceTensors.reduceScatter(group, ctx.manager(), inputs.singletonOrThrow(),
                "reduce-scatter to sequence-parallel region"));
    }

    @Override
    public NDList backward(FunctionContext ctx, NDList outputCotangents) {
        return new NDList(SequenceTensors.allGather(group, ctx.manager(), outputCotangents.singletonOrThrow(),
                "backward of reduce-scatter to sequence-parallel region"));
    }
}
