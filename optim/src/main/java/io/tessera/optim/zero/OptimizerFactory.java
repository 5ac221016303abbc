package io.tessera.optim.zero;

import ai.djl.ndarray.NDManager;
import io.tessera.optim.FlatRange;
import io.tessera.optim.Optimizer;
import io.tessera.optim.TensorNorms;

/**
 * Creates the optimizer of one flat range; the data-parallel optimizers call it once per range they
 * own (the whole buffer, or each bucket piece under ZeRO).
 *
 * <p>Thread safety: implementations must be stateless.
 */
@FunctionalInterface
public interface OptimizerFactory {

    /**
     * @param range the range
     * @param norms how per-tensor sums are completed across ranks (LAMB needs it; AdamW ignores it)
     * @param manager owner of the optimizer state
     * @return the optimizer
     */
    Optimizer create(FlatRange range, TensorNorms norms, NDManager manager);
}
