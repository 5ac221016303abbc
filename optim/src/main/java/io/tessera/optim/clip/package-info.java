/** Gradient clipping by the global norm, correct under tensor, data and ZeRO parallelism. */
package io.tessera.optim.clip;
