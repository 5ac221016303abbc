package io.tessera.optim;

import ai.djl.ndarray.NDArray;

/**
 * An optimizer that updates one {@link FlatRange} of the flat parameter buffer in place from the matching
 * flat gradients, one whole-range step at a time. Without ZeRO the range is the whole buffer; with it,
 * each data-parallel rank steps its own shard.
 *
 * <pre>{@code
 * try (Optimizer opt = new AdamW(AdamW.Config.builder().build(), FlatRange.of(buffer), manager)) {
 *     opt.step(buffer.params(), buffer.grads(), schedule.lr(step));
 * }
 * }</pre>
 *
 * <p>Thread safety: not thread-safe; one optimizer belongs to one rank's training thread.
 */
public interface Optimizer extends AutoCloseable {

    /** @return the range this optimizer owns */
    FlatRange range();

    /** @return the moment buffers and step count */
    OptimizerState state();

    /**
     * Takes one step: updates {@code params} in place; gradients are only read.
     *
     * @param params 1-D fp32 view of the range's parameters (e.g. {@code range.view(buffer.params())})
     * @param grads 1-D fp32 gradients laid out like the range
     * @param lr the learning rate of this step
     */
    void step(NDArray params, NDArray grads, double lr);

    /** Frees the optimizer state. */
    @Override
    void close();
}
