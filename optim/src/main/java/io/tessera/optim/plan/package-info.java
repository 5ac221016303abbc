/**
 * Model-state memory planning: bytes of parameters, gradients and optimiser states per GPU for a
 * given parallel layout and ZeRO stage ({@link io.tessera.optim.plan.MemoryPlan}), from the ZeRO
 * paper's formulas. Pure arithmetic: it runs before anything is allocated.
 */
package io.tessera.optim.plan;
