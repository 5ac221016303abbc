/**
 * Megatron-style tensor parallelism on the {@link io.tessera.core.tape.Tape}.
 *
 * <p>Mappings, each a {@link io.tessera.core.tape.TapeFunction} named for the data it moves:
 * <pre>
 *   CopyToTensorParallelRegion       (f)  forward identity        backward all-reduce
 *   ReduceFromTensorParallelRegion   (g)  forward all-reduce      backward identity
 *   ScatterToTensorParallelRegion         forward keep own slice  backward all-gather   (last dim)
 *   GatherFromTensorParallelRegion        forward all-gather      backward keep own slice (last dim)
 * </pre>
 * and, for sequence parallelism ({@link io.tessera.parallel.tensor.SequenceParallel}), along the
 * sequence (dimension 1 of {@code [B, T, C]}):
 * <pre>
 *   ScatterToSequenceParallelRegion        forward keep own positions  backward all-gather
 *   GatherFromSequenceParallelRegion       forward all-gather          backward reduce-scatter (replaces f)
 *   ReduceScatterToSequenceParallelRegion  forward reduce-scatter      backward all-gather     (replaces g)
 *   GatherSequenceToReplicatedRegion       forward all-gather          backward keep own positions
 * </pre>
 * A group of one rank records none of them, so degree 1 runs the same code with no communication.
 * Replicated parameters used on sequence shards (LayerNorm, row-parallel biases) are read inside a
 * {@link io.tessera.parallel.tensor.SequenceParallelFunction}, whose backward sums their gradients
 * over the group.
 *
 * <p>Layers: {@link io.tessera.parallel.tensor.ColumnParallelLinear},
 * {@link io.tessera.parallel.tensor.RowParallelLinear},
 * {@link io.tessera.parallel.tensor.VocabParallelEmbedding},
 * {@link io.tessera.parallel.tensor.VocabParallelCrossEntropy},
 * {@link io.tessera.parallel.tensor.ParallelSelfAttention}, {@link io.tessera.parallel.tensor.ParallelMLP}
 * and the replicated {@link io.tessera.parallel.tensor.LayerNorm}, {@link io.tessera.parallel.tensor.Linear}
 * and {@link io.tessera.parallel.tensor.Embedding}. Split parameters declare their full shape and a
 * {@link io.tessera.core.nn.Partition}; initialisers produce the full tensor, so the model gathered from
 * any degree equals the degree-1 model from the same seed.
 *
 * <p>Randomness: {@link io.tessera.parallel.tensor.TensorParallelRng} states which dropout masks agree
 * across the group (replicated activations) and which differ (split activations).
 */
package io.tessera.parallel.tensor;
