package io.tessera.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Rng;

/**
 * Produces the <em>full</em> (unsplit) initial value of a parameter from a seed. Sharded parameters
 * take their slice of it, so that a model built at any tensor-parallel degree holds, gathered, exactly
 * the weights of the degree-1 model from the same seed.
 *
 * <p>Thread safety: implementations must be stateless.
 */
@FunctionalInterface
public interface Initializer {

    /**
     * @param manager owner of the result
     * @param fullShape the shape of the whole parameter
     * @param seed a seed derived from the model seed and the parameter's name
     * @return an fp32 tensor of {@code fullShape}
     */
    NDArray full(NDManager manager, Shape fullShape, long seed);

    /** @return all zeros (biases) */
    static Initializer zeros() {
        return (m, s, seed) -> m.zeros(s, DataType.FLOAT32);
    }

    /** @return all ones (LayerNorm gains) */
    static Initializer ones() {
        return (m, s, seed) -> m.ones(s, DataType.FLOAT32);
    }

    /**
     * @param std standard deviation (BERT and GPT-2 use 0.02)
     * @return N(0, std²)
     */
    static Initializer normal(float std) {
        return (m, s, seed) -> Rng.normal(m, s, 0f, std, seed);
    }
}
