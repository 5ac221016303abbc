package io.tessera.parallel.pipeline;

import java.util.Objects;

/**
 * One compute step of a pipeline rank: the forward or backward pass of one micro-batch through one of
 * the rank's model chunks. The communication around it follows from the position of its virtual stage:
 * a forward receives its input from virtual stage {@code vs − 1} and sends its output to {@code vs + 1};
 * a backward receives its output gradient from {@code vs + 1} and sends its input gradient to {@code vs − 1}.
 *
 * <p>Thread safety: immutable.
 *
 * @param pass forward or backward
 * @param microBatch the micro-batch, {@code 0 ≤ microBatch < m}
 * @param chunk the rank's model chunk, {@code 0 ≤ chunk < v} (always 0 without interleaving)
 */
public record PipelineAction(Pass pass, int microBatch, int chunk) {

    /** Which pass. */
    public enum Pass {
        /** forward pass; keeps the micro-batch's activations until its backward */
        FORWARD,
        /** backward pass; frees the activations */
        BACKWARD
    }

    public PipelineAction {
        Objects.requireNonNull(pass, "pass");
        if (microBatch < 0 || chunk < 0) {
            throw new IllegalArgumentException("micro-batch " + microBatch + ", chunk " + chunk + ": must be at least 0");
        }
    }

    /**
     * @param microBatch the micro-batch
     * @param chunk the model chunk
     * @return its forward pass
     */
    public static PipelineAction forward(int microBatch, int chunk) {
        return new PipelineAction(Pass.FORWARD, microBatch, chunk);
    }

    /**
     * @param microBatch the micro-batch
     * @param chunk the model chunk
     * @return its backward pass
     */
    public static PipelineAction backward(int microBatch, int chunk) {
        return new PipelineAction(Pass.BACKWARD, microBatch, chunk);
    }

    /**
     * The virtual stage this action runs: chunk {@code c} of pipeline rank {@code s} holds layers of
     * virtual stage {@code c·p + s} (Megatron's interleaving: chunk 0 of every rank, then chunk 1, ...).
     *
     * @param stage the pipeline rank
     * @param stages the pipeline degree p
     * @return the virtual stage
     */
    public int virtualStage(int stage, int stages) {
        return chunk * stages + stage;
    }

    /** @return e.g. {@code F3} or {@code B3.1} (micro-batch 3, chunk 1) */
    @Override
    public String toString() {
        return (pass == Pass.FORWARD ? "F" : "B") + microBatch + (chunk > 0 ? "." + chunk : "");
    }
}
