package io.tessera.optim.zero;

/**
 * The ZeRO stages (Rajbhandari et al., 2020): what the data-parallel group partitions instead of
 * replicating, Ψ parameters over N_d ranks, mixed precision (K = 12 bytes of optimizer state per
 * parameter):
 *
 * <pre>
 *   stage   partitions                          model-state bytes per rank
 *   0       nothing (plain data parallelism)     (2 + 2 + K)·Ψ
 *   1       optimizer states (P_os)              (2 + 2)·Ψ + K·Ψ/N_d
 *   2       + gradients (P_os+g)                 2·Ψ + (2 + K)·Ψ/N_d
 *   3       + parameters (P_os+g+p)              (2 + 2 + K)·Ψ/N_d
 * </pre>
 *
 * <p>Thread safety: immutable enum.
 */
public enum ZeroStage {
    /** Plain data parallelism: everything replicated, gradients all-reduced. */
    NONE,
    /** Optimizer states partitioned; gradients all-reduced, each rank updates its part, parameters all-gathered. */
    OPTIMIZER_STATES,
    /** Gradients partitioned too: reduce-scattered into each rank's part. */
    GRADIENTS,
    /** Parameters partitioned too: gathered per node for forward and again for backward. */
    PARAMETERS;

    /** @return the stage number, 0 to 3, as {@code --zero} spells it */
    public int number() {
        return ordinal();
    }

    /**
     * @param stage 0 to 3
     * @return the stage
     * @throws IllegalArgumentException naming the stages there are
     */
    public static ZeroStage of(int stage) {
        if (stage < 0 || stage > 3) {
            throw new IllegalArgumentException("--zero " + stage + ": ZeRO stages are 0 (off), 1 (optimizer states),"
                    + " 2 (+ gradients) and 3 (+ parameters)");
        }
        return values()[stage];
    }

    /**
     * Creates this stage's data-parallel optimizer.
     *
     * @param spec the model, seed, groups, optimizer and bucket size
     * @return the optimizer; it owns the model's parameter buffer
     */
    public DataParallelOptimizer create(DataParallelOptimizer.Spec spec) {
        return switch (this) {
            case NONE -> new DataParallel(spec);
            case OPTIMIZER_STATES -> new ZeroStage1(spec);
            case GRADIENTS -> new ZeroStage2(spec);
            case PARAMETERS -> new ZeroStage3(spec);
        };
    }
}
