package io.tessera.optim.plan;

/**
 * Model-state memory of one GPU, in bytes: parameters, gradients and optimiser states. Activations,
 * temporary buffers and fragmentation are not included.
 *
 * <p>Thread safety: immutable, safe to share between threads.
 *
 * @param parameters bytes of parameters held
 * @param gradients bytes of gradients held
 * @param optimizerStates bytes of optimiser states held
 */
public record ModelStateBytes(long parameters, long gradients, long optimizerStates) {

    /**
     * Checks the components are not negative.
     *
     * @param parameters bytes of parameters held
     * @param gradients bytes of gradients held
     * @param optimizerStates bytes of optimiser states held
     * @throws IllegalArgumentException naming a negative component
     */
    public ModelStateBytes {
        if (parameters < 0 || gradients < 0 || optimizerStates < 0) {
            throw new IllegalArgumentException("model-state bytes must be >= 0, got parameters = " + parameters
                    + ", gradients = " + gradients + ", optimizerStates = " + optimizerStates);
        }
    }

    /** @return parameters + gradients + optimiser states */
    public long total() {
        return parameters + gradients + optimizerStates;
    }

    /**
     * Whether the model states fit in a GPU's memory. The rest of the memory must still hold
     * activations and buffers, so a fit is necessary, not sufficient, for training.
     *
     * @param gpuMemoryBytes the GPU's memory in bytes, positive
     * @return {@code total() <= gpuMemoryBytes}
     * @throws IllegalArgumentException if {@code gpuMemoryBytes <= 0}
     */
    public boolean fits(long gpuMemoryBytes) {
        if (gpuMemoryBytes <= 0) {
            throw new IllegalArgumentException("gpuMemoryBytes = " + gpuMemoryBytes
                    + " must be positive: it is one GPU's memory in bytes, e.g. 32L << 30 for a 32 GiB V100");
        }
        return total() <= gpuMemoryBytes;
    }
}
