package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDList;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.parallel.comm.Communicator;
import java.util.List;

/**
 * Sequence parallelism (Korthikanti et al., 2022) at a model's edges, and the region changes the
 * layers make when it is on.
 *
 * <p>Outside the tensor-parallel products (LayerNorm, dropout, bias and residual adds) activations
 * {@code [B, T, C]} are split along the sequence: rank {@code r} of {@code p} holds positions
 * {@code [r·T/p, (r+1)·T/p)}, {@code [B, T/p, C]}. A model wires it as
 * <pre>
 *   embeddings → x [B, T, C] replicated
 *   x = SequenceParallel.scatter(tape, tp, "…sequence_scatter", x)          [B, T/p, C]
 *   x = layer_i.forward(tape, …, x, attentionMask [B, T])   (layers built with sequenceParallel = true)
 *   x = SequenceParallel.gather(tape, tp, "…sequence_gather", x)            [B, T, C] replicated
 *   final LayerNorm, heads as without sequence parallelism
 * </pre>
 * Gathering before the final LayerNorm keeps that LayerNorm and the heads unchanged (their parameters
 * see the whole sequence). Running the final LayerNorm on the shards instead saves its activation
 * memory but needs a {@link SequenceParallelFunction} for its gradients.
 *
 * <p>Inside each layer ({@link ParallelSelfAttention}, {@link ParallelMLP},
 * {@link ColumnParallelLinear}, {@link RowParallelLinear} with {@code optSequenceParallel(true)}):
 * <pre>
 *   f  (identity / all-reduce)  →  GatherFromSequenceParallelRegion       (all-gather / reduce-scatter)
 *   g  (all-reduce / identity)  →  ReduceScatterToSequenceParallelRegion  (reduce-scatter / all-gather)
 * </pre>
 * which moves the same bytes as the all-reduce it replaces, and the replicated parameters used on the
 * shards get their gradients summed over the group by {@link SequenceParallelFunction}. Dropout on the
 * shards draws split-region masks ({@link TensorParallelRng}): different on every rank.
 *
 * <p>Thread safety: stateless.
 */
public final class SequenceParallel {

    private SequenceParallel() {}

    /**
     * Enters the sequence-parallel region after the embeddings ({@link ScatterToSequenceParallelRegion}):
     * forward keeps this rank's positions, backward all-gathers.
     *
     * @param tape the step's tape
     * @param group the tensor-parallel group
     * @param name node name
     * @param x {@code [B, T, C]}, replicated, {@code T} divisible by the degree
     * @return {@code [B, T/p, C]}
     * @throws IllegalArgumentException if the degree does not divide {@code T}
     */
    public static Var scatter(Tape tape, Communicator group, String name, Var x) {
        return ScatterToSequenceParallelRegion.apply(tape, group, name, x);
    }

    /**
     * Leaves the sequence-parallel region after the last layer, for replicated computation
     * ({@link GatherSequenceToReplicatedRegion}): forward all-gathers, backward keeps this rank's
     * positions.
     *
     * @param tape the step's tape
     * @param group the tensor-parallel group
     * @param name node name
     * @param x {@code [B, T/p, C]}
     * @return {@code [B, T, C]}, replicated
     */
    public static Var gather(Tape tape, Communicator group, String name, Var x) {
        return GatherSequenceToReplicatedRegion.apply(tape, group, name, x);
    }

    /**
     * The sequence length each rank holds.
     *
     * @param group the tensor-parallel group
     * @param sequenceLength T
     * @return {@code T / p}
     * @throws IllegalArgumentException if the degree does not divide {@code T}, naming the fix
     */
    public static int localLength(Communicator group, int sequenceLength) {
        return (int) SequenceTensors.localLength(group, sequenceLength, "sequence parallelism");
    }

    /** Enters a tensor-parallel region: {@code f}, or the sequence all-gather under sequence parallelism. */
    static Var enter(Tape tape, Communicator group, String name, Var x, boolean sequenceParallel) {
        return sequenceParallel ? GatherFromSequenceParallelRegion.apply(tape, group, name + ".gather", x)
                : CopyToTensorParallelRegion.apply(tape, group, name + ".copy", x);
    }

    /** Leaves a tensor-parallel region: {@code g}, or the sequence reduce-scatter under sequence parallelism. */
    static Var exit(Tape tape, Communicator group, String name, Var partial, boolean sequenceParallel) {
        return sequenceParallel ? ReduceScatterToSequenceParallelRegion.apply(tape, group, name + ".reduce_scatter", partial)
                : ReduceFromTensorParallelRegion.apply(tape, group, name + ".reduce", partial);
    }

    /**
     * Adds a replicated bias in its own node, {@code y + b}: an ordinary node on a replicated activation,
     * a {@link SequenceParallelFunction} (gradient summed over the group) on a sequence shard.
     */
    static Var addBias(Tape tape, Communicator group, String name, Var y, Parameter bias, boolean sequenceParallel) {
        if (sequenceParallel) {
            return SequenceParallelFunction.apply1(tape, group, name, List.of(bias),
                    (ctx, params, l) -> new NDList(l.get(0).add(params.get(bias))), y);
        }
        return tape.apply1(name, false, (ctx, l) -> new NDList(l.get(0).add(ctx.param(bias))), y);
    }
}
