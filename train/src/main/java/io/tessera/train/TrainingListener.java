package io.tessera.train;

/**
 * Observes a run on world rank 0: metrics files, progress, plots, a fine-tuning task's own metric. The
 * trainer calls every listener in order; none changes what is trained.
 *
 * <pre>{@code
 * new Trainer(cfg, ctx, device, System.out, List.of(new TrainingListener() {
 *     public void onEvaluation(Evaluation e) { System.out.println("accuracy " + e.accuracies()); }
 * })).run();
 * }</pre>
 *
 * <p>Thread safety: called from rank 0's training thread only.
 */
public interface TrainingListener {

    /**
     * Before the first step of this process.
     *
     * @param startStep the step the run continues from (0, or the resumed checkpoint's)
     * @param steps the run's total
     */
    default void onStart(int startStep, int steps) {}

    /**
     * After each optimizer step.
     *
     * @param report what the step did
     */
    default void onStep(StepReport report) {}

    /**
     * After each held-out evaluation (before the first step, when due, and after the last).
     *
     * @param evaluation the metrics
     */
    default void onEvaluation(Evaluation evaluation) {}

    /** When the run ends, normally or not: release files and consoles. */
    default void onEnd() {}
}
