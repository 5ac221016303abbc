/** Data parallelism: gradient buckets whose all-reduce overlaps backward, and gradient accumulation. */
package io.tessera.optim.dp;
