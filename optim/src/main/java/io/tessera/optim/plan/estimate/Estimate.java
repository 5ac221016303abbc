package io.tessera.optim.plan.estimate;

/**
 * A predicted training step, split into its terms (seconds per optimizer step).
 *
 * <p>Thread safety: immutable.
 *
 * @param computeSeconds matrix work of one device, recomputation included
 * @param nonGemmSeconds the non-GEMM work of the micro-batches ({@link NonGemmWork}), 0 without op costs
 * @param optimizerSeconds the optimizer's non-GEMM work, once per step, 0 without op costs
 * @param tensorParallelSeconds the tp all-reduces on the critical path
 * @param pipelineSendSeconds the pipeline send/recv of activations and their gradients
 * @param bubbleSeconds the pipeline bubble
 * @param dataParallelSeconds the whole data-parallel gradient (and ZeRO parameter) traffic
 * @param dataParallelExposedSeconds the part of it not hidden behind backward
 * @param stepSeconds the sum of the terms on the critical path
 * @param modelFlops model FLOPs of the step (no recomputation), all devices
 * @param hardwareFlops FLOPs executed, recomputation included, all devices
 * @param tokens tokens per step, {@code B·s}
 * @param devices devices, {@code t·p·d}
 * @param peakFlops peak FLOP/s per device
 * @param weakScalingEfficiency {@code step(d = 1, B/d) / step(d, B)}, 1 for d = 1
 */
public record Estimate(double computeSeconds, double nonGemmSeconds, double optimizerSeconds,
                       double tensorParallelSeconds, double pipelineSendSeconds, double bubbleSeconds, double dataParallelSeconds, double dataParallelExposedSeconds,
                       double stepSeconds, double modelFlops, double hardwareFlops, long tokens, int devices,
                       double peakFlops, double weakScalingEfficiency) {

    /** @return model FLOPs utilisation, {@code modelFlops / (step · devices · peak)} */
    public double mfu() {
        return modelFlops / (stepSeconds * devices * peakFlops);
    }

    /** @return tokens per second, all devices */
    public double tokensPerSecond() {
        return tokens / stepSeconds;
    }

    /** @return model TFLOP/s per device */
    public double modelTflopsPerDevice() {
        return modelFlops / stepSeconds / devices / 1e12;
    }

    /** @return executed TFLOP/s per device, recomputation counted (what Megatron-LM's Table 1 reports) */
    public double hardwareTflopsPerDevice() {
        return hardwareFlops / stepSeconds / devices / 1e12;
    }

    /** @return a copy with the weak-scaling efficiency set */
    Estimate withWeakScaling(double efficiency) {
        return new Estimate(computeSeconds, nonGemmSeconds, optimizerSeconds, tensorParallelSeconds, pipelineSendSeconds,
                bubbleSeconds, dataParallelSeconds, dataParallelExposedSeconds, stepSeconds, modelFlops, hardwareFlops,
                tokens, devices, peakFlops, efficiency);
    }
}
