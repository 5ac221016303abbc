package io.tessera.optim.zero;

/**
 * What one optimizer step did.
 *
 * <p>Thread safety: immutable.
 *
 * @param gradNorm the global gradient norm before clipping (over every group the gradients span)
 * @param clipCoefficient the factor gradients were multiplied by (1 when not clipped)
 * @param skipped true when the norm was not finite and no parameter changed
 */
public record StepResult(double gradNorm, double clipCoefficient, boolean skipped) {}
