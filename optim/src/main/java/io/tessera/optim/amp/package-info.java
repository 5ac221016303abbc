/**
 * Mixed precision: the run's {@link io.tessera.optim.amp.Precision}, fp16 compute over fp32 master
 * weights ({@link io.tessera.optim.amp.HalfPrecisionAccess}), dynamic loss scaling and the overflow check.
 */
package io.tessera.optim.amp;
