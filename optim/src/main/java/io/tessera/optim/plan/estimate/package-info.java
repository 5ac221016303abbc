/**
 * A step-time model: from FLOPs per token, a device's matrix rate and α–β link costs, the predicted
 * step time, MFU, tokens per second and weak-scaling efficiency of a tp × pp × dp layout
 * ({@link io.tessera.optim.plan.estimate.StepTimeModel}). Pure arithmetic.
 */
package io.tessera.optim.plan.estimate;
