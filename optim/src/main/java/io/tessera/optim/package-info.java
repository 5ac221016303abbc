/**
 * Optimizers over flat fp32 ranges of a {@link io.tessera.core.nn.ParameterBuffer}: {@link
 * io.tessera.optim.AdamW} and {@link io.tessera.optim.Lamb}, each owning one {@link
 * io.tessera.optim.FlatRange} (the whole buffer, or a ZeRO shard) and its {@link
 * io.tessera.optim.OptimizerState}; {@link io.tessera.optim.TensorNorms} completes per-tensor sums of
 * squares across tensor- and data-parallel ranks.
 */
package io.tessera.optim;
