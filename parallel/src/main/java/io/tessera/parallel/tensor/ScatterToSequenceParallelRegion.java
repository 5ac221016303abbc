package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDList;
import io.tessera.core.tape.FunctionContext;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.TapeFunction;
import io.tessera.core.tape.Var;
import io.tessera.parallel.comm.Communicator;
import java.util.Objects;

/**
 * Enters the sequence-parallel region: each rank keeps its slice of a replicated activation's sequence.
 *
 * <p><b>Forward: {@code y = x[:, r·T/p : (r+1)·T/p]} on rank {@code r} of {@code p}, {@code x [B, T, ...]}.
 * Backward: {@code dx = concat_ranks(dy)} along the sequence (all-gather).</b>
 *
 * <p>Used once per model, after the embeddings, whose output is replicated: every rank needs the
 * whole {@code dx} for the embedding's backward, hence the all-gather. {@code T} must be divisible by
 * {@code p}; otherwise forward fails naming {@code T}, the degree and the fix. A group of one rank
 * records no node.
 *
 * <p>Thread safety: immutable; the communicator is used from the tape's thread.
 */
public final class ScatterToSequenceParallelRegion implements TapeFunction {

    private final Communicator group;

    /**
     * @param group the tensor-parallel group
     */
    public ScatterToSequenceParallelRegion(Communicator group) {
        this.group = Objects.requireNonNull(group, "group");
    }

    /**
     * Records the scatter on the tape, or returns {@code x} itself for a group of one rank.
     *
     * @param tape the step's tape
     * @param group the tensor-parallel group
     * @param name node name, e.g. {@code transformer.sequence_scatter}
     * @param x {@code [B, T, ...]}, replicated, {@code T} divisible by the group's size
     * @return {@code [B, T/p, ...]}, this rank's positions
     * @throws IllegalArgumentException if the group's size does not divide {@code T}
     */
    public static Var apply(Tape tape, Communicator group, String name, Var x) {
        if (group.size() == 1) {
            return x;
        }
        return tape.call1(name, new ScatterToSequenceParallelRegion(group), x);
    }

    @Override
    public NDList forward(FunctionContext ctx, NDList inputs) {
        return new NDList(SequenceTensors.slice(group, ctx.manager(), inputs.singletonOrThrow(),
                "scatter to sequence-parallel region"));
    }

    @Override
    public NDList backward(FunctionContext ctx, NDList outputCotangents) {
        return new NDList(SequenceTensors.allGather(group, ctx.manager(), outputCotangents.singletonOrThrow(),
                "backward of scatter to sequence-parallel region"));
    }
}
