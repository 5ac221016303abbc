package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.ReduceOp;

/**
 * The tensor work behind the sequence-parallel mappings: slicing, gathering and reduce-scattering
 * activations {@code [B, T, ...]} along the sequence, dimension 1.
 *
 * <p>The communicator cuts and joins flat contiguous memory along dimension 0, where a {@code [B, T, C]}
 * tensor's sequence chunks are not contiguous (every batch row holds a piece of each). So every
 * collective here runs on a contiguous copy transposed to {@code [T, B, ...]}, whose rank-order chunks
 * of {@code T / p} positions are contiguous, and the result is transposed back into a contiguous
 * {@code [B, ·, ...]} copy. That is one extra copy of the activation on each side of a collective
 * (Megatron keeps activations {@code [T, B, C]} to avoid it).
 *
 * <p>Thread safety: stateless; the arrays belong to the calling rank.
 */
final class SequenceTensors {

    private SequenceTensors() {}

    /**
     * Checks that a sequence length splits into equal parts over the group.
     *
     * @param group the tensor-parallel group
     * @param t the sequence length T
     * @param what the operation (and the activation's shape), for the message
     * @return {@code T / p}
     */
    static long localLength(Communicator group, long t, String what) {
        int p = group.size();
        if (t % p != 0) {
            long padded = (t + p - 1) / p * p;
            throw new IllegalArgumentException(what + " over " + group.name() + " (rank " + group.rank() + "): sequence length T = "
                    + t + " is not divisible by the tensor-parallel degree " + p
                    + "; with sequence parallelism every rank keeps T / degree positions; pad the batch to a multiple of "
                    + p + " (T = " + padded + ") or turn sequence parallelism off");
        }
        return t / p;
    }

    /** Positions {@code [r·T/p, (r+1)·T/p)} of {@code full} on rank {@code r}, as a contiguous copy. */
    static NDArray slice(Communicator group, NDManager manager, NDArray full, String what) {
        long n = localLength(group, sequenceLength(full.getShape(), what), what + " of " + full.getShape());
        long start = group.rank() * n;
        return RegionTensors.contiguousCopy(manager, full.get(new NDIndex(":, " + start + ":" + (start + n))));
    }

    /** Concatenates every rank's {@code local [B, n, ...]} along the sequence, in rank order: {@code [B, p·n, ...]}. */
    static NDArray allGather(Communicator group, NDManager manager, NDArray local, String what) {
        Shape shape = local.getShape();
        sequenceLength(shape, what);
        int p = group.size();
        // The transposed send and receive buffers live only for the call: a node keeps what its scratch manager
        // holds until its backward, so only the result goes there.
        try (NDManager scratch = manager.newSubManager()) {
            NDArray send = RegionTensors.contiguousCopy(scratch, local.swapAxes(0, 1)).reshape(shape.size());   // [n, B, ...]
            NDArray recv = scratch.zeros(new Shape(shape.size() * p), local.getDataType());
            group.allGather(send, recv);
            long[] seqMajor = seqMajor(shape, shape.get(1) * p);
            return RegionTensors.contiguousCopy(manager, recv.reshape(new Shape(seqMajor)).swapAxes(0, 1));   // [B, p·n, ...]
        }
    }

    /** Sums {@code full [B, T, ...]} over the group and keeps positions {@code [r·T/p, (r+1)·T/p)}: {@code [B, T/p, ...]}. */
    static NDArray reduceScatter(Communicator group, NDManager manager, NDArray full, String what) {
        Shape shape = full.getShape();
        long n = localLength(group, sequenceLength(shape, what), what + " of " + shape);
        try (NDManager scratch = manager.newSubManager()) {
            NDArray send = RegionTensors.contiguousCopy(scratch, full.swapAxes(0, 1)).reshape(shape.size());    // [T, B, ...]
            NDArray recv = scratch.zeros(new Shape(shape.size() / group.size()), full.getDataType());
            group.reduceScatter(send, recv, ReduceOp.SUM);
            return RegionTensors.contiguousCopy(manager, recv.reshape(new Shape(seqMajor(shape, n))).swapAxes(0, 1));
        }
    }

    /** The dimensions {@code [t, B, ...]} of {@code shape [B, ·, ...]} with its sequence length replaced by {@code t}. */
    private static long[] seqMajor(Shape shape, long t) {
        long[] dims = shape.getShape().clone();
        dims[1] = dims[0];
        dims[0] = t;
        return dims;
    }

    private static long sequenceLength(Shape shape, String what) {
        if (shape.dimension() < 2) {
            throw new IllegalArgumentException(what + ": an activation of shape " + shape
                    + " has no sequence dimension; sequence parallelism splits dimension 1 of [B, T, ...]");
        }
        return shape.get(1);
    }
}
