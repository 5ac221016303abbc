package io.tessera.parallel.comm;

/**
 * Reduction applied element-wise by all-reduce and reduce-scatter.
 *
 * <p>Thread safety: immutable.
 */
public enum ReduceOp {
    /** Sum over ranks. */
    SUM,
    /** Mean over ranks (sum divided by group size). */
    AVG,
    /** Maximum over ranks. */
    MAX,
    /** Minimum over ranks. */
    MIN
}
