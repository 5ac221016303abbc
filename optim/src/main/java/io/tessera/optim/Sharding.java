package io.tessera.optim;

/**
 * How a flat range is held across the data-parallel group, which decides whether per-tensor sums of
 * squares must be added over that group.
 *
 * <p>Thread safety: immutable.
 */
public enum Sharding {

    /**
     * Every data-parallel rank holds the whole range with the same values (plain data parallelism after
     * the gradient all-reduce): sums are taken locally, never added over the data-parallel group.
     */
    REPLICATED,

    /**
     * Each data-parallel rank holds a disjoint shard (ZeRO's optimizer-state, gradient or parameter
     * partitions): a tensor may be cut between ranks, so its partial sums are added over the group.
     */
    PARTITIONED
}
