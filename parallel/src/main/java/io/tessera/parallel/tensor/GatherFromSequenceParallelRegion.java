package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDList;
import io.tessera.core.tape.FunctionContext;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.TapeFunction;
import io.tessera.core.tape.Var;
import io.tessera.parallel.comm.Communicator;
import java.util.Objects;

/**
 * Leaves the sequence-parallel region for a tensor-parallel one: replaces {@code f} in front of a
 * column-parallel layer under sequence parallelism (the {@code g} of Korthikanti et al., 2022, not this
 * package's {@code g}, {@link ReduceFromTensorParallelRegion}).
 *
 * <p><b>Forward: {@code y = concat_ranks(x)} along the sequence (all-gather), {@code x [B, T/p, ...]},
 * {@code y [B, T, ...]}. Backward: {@code dx = (Σ_ranks dy)[:, r·T/p : (r+1)·T/p]} on rank {@code r}
 * (reduce-scatter SUM along the sequence).</b>
 *
 * <p>Every rank's column-parallel slice reads the whole gathered sequence and contributes only its
 * share of {@code dL/dy}; the shares are summed, as {@code f}'s backward all-reduce sums them, but each
 * rank keeps only its own positions. Use it only in front of such a consumer: before replicated
 * computation (whose {@code dy} is already whole on every rank) the sum would count it {@code p} times;
 * use {@link GatherSequenceToReplicatedRegion} there. A group of one rank records no node.
 *
 * <p>Thread safety: immutable; the communicator is used from the tape's thread.
 */
public final class GatherFromSequenceParallelRegion implements TapeFunction {

    private final Communicator group;

    /**
     * @param group the tensor-parallel group
     */
    public GatherFromSequenceParallelRegion(Communicator group) {
        this.group = Objects.requireNonNull(group, "group");
    }

    /**
     * Records the gather on the tape, or returns {@code x} itself for a group of one rank.
     *
     * @param tape the step's tape
     * @param group the tensor-parallel group
     * @param name node name, e.g. {@code transformer.h.0.attn.gather}
     * @param x {@code [B, T/p, ...]}, this rank's positions, the same shape on every rank
     * @return {@code [B, T, ...]}, the same on every rank, with a reduce-scattering backward
     */
    public static Var apply(Tape tape, Communicator group, String name, Var x) {
        if (group.size() == 1) {
            return x;
        }
        return tape.call1(name, new GatherFromSequenceParallelRegion(group), x);
    }

    @Override
    public NDList forward(FunctionContext ctx, NDList inputs) {
        return new NDList(SequenceTensors.allGather(group, ctx.manager(), inputs.singletonOrThrow(),
                "gather from sequence-parallel region"));
    }

    @Override
    public NDList backward(FunctionContext ctx, NDList outputCotangents) {
        return new NDList(SequenceTensors.reduceScatter(group, ctx.manager(), outputCotangents.singletonOrThrow(),
                "backward of gather from sequence-parallel region"));
    }
}
