package io.tessera.train;

import io.tessera.optim.zero.StepResult;
import java.util.Map;

/**
 * What one optimizer step did, as the trainer hands it to its {@link TrainingListener}s.
 *
 * <p>Thread safety: immutable.
 *
 * @param step steps completed, from 1
 * @param steps the run's total
 * @param loss the step's loss over the global batch (the sum of the terms)
 * @param termLosses each loss term's mean over the global batch's labelled positions
 * @param lr the learning rate of the step
 * @param result gradient norm, clipping, skip and loss scale
 * @param skippedSteps fp16 steps skipped so far (0 in fp32)
 * @param fp16 whether the run computes in fp16 (loss scale and skips are then reported)
 * @param seconds wall time of the step
 * @param tokensPerSecond global-batch tokens over the step time
 * @param tflopsPerRank model FLOPs of the step per rank per second, in TFLOP/s
 * @param residentMegabytes this process's resident memory, NaN where unknown
 * @param device the rank's device, e.g. {@code cpu()} or {@code gpu(0)}
 * @param deviceMegabytes device memory in use on a GPU, NaN on the CPU
 */
public record StepReport(int step, int steps, double loss, Map<String, Double> termLosses, double lr, StepResult result,
                         long skippedSteps, boolean fp16, double seconds, double tokensPerSecond, double tflopsPerRank,
                         double residentMegabytes, String device, double deviceMegabytes) {

    public StepReport {
        termLosses = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(termLosses));
    }

    /** @return whether this is the run's last step */
    public boolean last() {
        return step == steps;
    }
}
