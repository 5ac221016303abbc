package io.tessera.benchmarks.step;

/**
 * One full training step of some model (forward, backward, optimizer update) that a benchmark can time
 * without knowing the model: the harness calls {@link #run()} after warm-up and divides
 * {@link #tokensPerStep()} by the measured seconds.
 *
 * <pre>{@code
 * try (TrainStep step = TesseraTrainStep.create(spec, ParallelContext.single(), manager)) {
 *     Samples s = Samples.time(warmup, steps, step::run);
 *     double tokensPerSecond = step.tokensPerStep() / s.median();
 * }
 * }</pre>
 *
 * <p>Thread safety: implementations belong to one thread (one rank).
 */
public interface TrainStep extends AutoCloseable {

    /** Runs one complete step; returns when the parameters are updated. */
    void run();

    /** @return tokens this rank processes per step (batch × sequence length) */
    long tokensPerStep();

    /** @return a one-line description for reports (model, optimizer, strategy) */
    default String describe() {
        return getClass().getSimpleName();
    }

    /** Frees what the step holds (parameters, optimizer state, batch). */
    @Override
    default void close() {}
}
