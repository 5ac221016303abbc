package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDList;
import io.tessera.core.tape.FunctionContext;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.TapeFunction;
import io.tessera.core.tape.Var;
import io.tessera.parallel.comm.Communicator;
import java.util.Objects;

/**
 * Leaves the sequence-parallel region for replicated computation: the inverse of
 * {@link ScatterToSequenceParallelRegion}.
 *
 * <p><b>Forward: {@code y = concat_ranks(x)} along the sequence (all-gather), {@code x [B, T/p, ...]},
 * {@code y [B, T, ...]}. Backward: {@code dx = dy[:, r·T/p : (r+1)·T/p]} on rank {@code r} (no
 * communication).</b>
 *
 * <p>Used once per model, after the last layer, when what follows is replicated (a final LayerNorm and
 * heads that start with their own {@code f} or are replicated): every rank then computes the same whole
 * {@code dy}, so each keeps its positions. It is Megatron's
 * {@code gather_from_sequence_parallel_region(tensor_parallel_output_grad=False)}; in front of a
 * column-parallel consumer use {@link GatherFromSequenceParallelRegion}, whose backward sums the ranks'
 * shares instead. A group of one rank records no node.
 *
 * <p>Thread safety: immutable; the communicator is used from the tape's thread.
 */
public final class GatherSequenceToReplicatedRegion implements TapeFunction {

    private final Communicator group;

    /**
     * @param group the tensor-parallel group
     */
    public GatherSequenceToReplicatedRegion(Communicator group) {
        this.group = Objects.requireNonNull(group, "group");
    }

    /**
     * Records the gather on the tape, or returns {@code x} itself for a group of one rank.
     *
     * @param tape the step's tape
     * @param group the tensor-parallel group
     * @param name node name, e.g. {@code transformer.sequence_gather}
     * @param x {@code [B, T/p, ...]}, this rank's positions
     * @return {@code [B, T, ...]}, replicated, with a slicing backward
     */
    public static Var apply(Tape tape, Communicator group, String name, Var x) {
        if (group.size() == 1) {
            return x;
        }
        return tape.call1(name, new GatherSequenceToReplicatedRegion(group), x);
    }

    @Override
    public NDList forward(FunctionContext ctx, NDList inputs) {
        return new NDList(SequenceTensors.allGather(group, ctx.manager(), inputs.singletonOrThrow(),
                "gather sequence to replicated region"));
    }

    @Override
    public NDList backward(FunctionContext ctx, NDList outputCotangents) {
        return new NDList(SequenceTensors.slice(group, ctx.manager(), outputCotangents.singletonOrThrow(),
                "backward of gather sequence to replicated region"));
    }
}
