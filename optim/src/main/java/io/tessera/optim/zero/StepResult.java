package io.tessera.optim.zero;

/**
 * What one optimizer step did.
 *
 * <p>Thread safety: immutable.
 *
 * @param gradNorm the global norm of the (unscaled) gradients before clipping (over every group the
 *     gradients span)
 * @param clipCoefficient the factor gradients were multiplied by after unscaling (1 when not clipped)
 * @param skipped true when the norm was not finite (an fp16 overflow) and no parameter changed
 * @param lossScale the loss scale the step's gradients carried (1 for fp32)
 */
public record StepResult(double gradNorm, double clipCoefficient, boolean skipped, double lossScale) {

    /**
     * A step without loss scaling.
     *
     * @param gradNorm the global gradient norm before clipping
     * @param clipCoefficient the clipping factor
     * @param skipped whether the update was skipped
     */
    public StepResult(double gradNorm, double clipCoefficient, boolean skipped) {
        this(gradNorm, clipCoefficient, skipped, 1);
    }
}
