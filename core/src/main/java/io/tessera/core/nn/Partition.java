package io.tessera.core.nn;

import ai.djl.ndarray.types.Shape;

/**
 * How a parameter is split across the ranks of a tensor-parallel group: this rank holds slice
 * {@code rank} of {@code degree} equal slices of the full tensor along {@code dim}. {@link #REPLICATED}
 * means every rank holds the whole tensor.
 *
 * <p>Core knows nothing about communication; this is only the description that initialisation,
 * gradient-norm computation and checkpoint consolidation need.
 *
 * @param dim the split dimension, or -1 when replicated
 * @param rank this rank's slice index
 * @param degree number of slices
 */
public record Partition(int dim, int rank, int degree) {

    /** Every rank holds the full tensor. */
    public static final Partition REPLICATED = new Partition(-1, 0, 1);

    public Partition {
        if (degree < 1 || rank < 0 || rank >= degree || dim < -1 || (dim == -1 && degree != 1)) {
            throw new IllegalArgumentException("partition(dim=" + dim + ", rank=" + rank + ", degree=" + degree
                    + "): need degree >= 1, 0 <= rank < degree and dim >= 0 when split");
        }
    }

    /**
     * A split along {@code dim}.
     *
     * @param dim dimension of the full tensor that is split
     * @param rank this rank's slice
     * @param degree number of slices
     * @return the partition (replicated when degree is 1)
     */
    public static Partition split(int dim, int rank, int degree) {
        return degree == 1 ? REPLICATED : new Partition(dim, rank, degree);
    }

    /** @return whether every rank holds the full tensor */
    public boolean replicated() {
        return degree == 1;
    }

    /**
     * The local shape of a full shape under this partition.
     *
     * @param full the full shape
     * @return the shape this rank holds
     */
    public Shape local(Shape full) {
        if (replicated()) {
            return full;
        }
        long[] dims = full.getShape().clone();
        if (dim >= dims.length || dims[dim] % degree != 0) {
            throw new IllegalArgumentException("cannot split shape " + full + " along dim " + dim + " into " + degree
                    + " equal parts: " + (dim >= dims.length ? "no such dimension" : dims[dim] + " % " + degree + " != 0"));
        }
        dims[dim] /= degree;
        return new Shape(dims);
    }
}
