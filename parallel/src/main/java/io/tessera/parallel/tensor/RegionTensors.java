package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Tensors;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.ReduceOp;

/**
 * The tensor work behind the region mappings: contiguous copies for the communicator (which works in
 * place on contiguous memory) and last-dimension slicing and gathering.
 *
 * <p>Thread safety: stateless; the arrays belong to the calling rank.
 */
final class RegionTensors {

    private RegionTensors() {}

    /** A fresh contiguous copy of {@code x}, owned by {@code manager}, safe to reduce in place. */
    static NDArray contiguousCopy(NDManager manager, NDArray x) {
        NDArray out = manager.zeros(x.getShape(), x.getDataType());
        Tensors.copyInto(out, x);
        return out;
    }

    /** A copy of {@code x} reduced over the group; {@code x} is left unchanged. */
    static NDArray allReduce(Communicator group, NDManager manager, NDArray x, ReduceOp op) {
        NDArray out = contiguousCopy(manager, x);
        group.allReduce(out, op);
        return out;
    }

    /** Slice {@code rank} of {@code parts} equal slices of the last dimension, as a contiguous copy. */
    static NDArray sliceLastDim(NDManager manager, NDArray full, int rank, int parts, String what) {
        long n = lastDim(full.getShape());
        if (n % parts != 0) {
            throw new IllegalArgumentException(what + ": last dimension " + n + " of " + full.getShape()
                    + " is not divisible by the tensor-parallel degree " + parts
                    + "; choose sizes that the degree divides");
        }
        long size = n / parts;
        return contiguousCopy(manager, full.get(new NDIndex("..., " + (rank * size) + ":" + ((rank + 1) * size))));
    }

    /** Concatenates every rank's {@code local} along the last dimension, in rank order. */
    static NDArray allGatherLastDim(Communicator group, NDManager manager, NDArray local) {
        int parts = group.size();
        Shape shape = local.getShape();
        long k = lastDim(shape);
        long rows = shape.size() / Math.max(k, 1);
        NDArray send = contiguousCopy(manager, local).reshape(shape.size());
        NDArray recv = manager.zeros(new Shape(shape.size() * parts), local.getDataType());
        group.allGather(send, recv);
        // recv is [parts, rows, k] in rank order; the result is [rows, parts · k].
        long[] dims = shape.getShape().clone();
        dims[dims.length - 1] = k * parts;
        return recv.reshape(parts, rows, k).transpose(1, 0, 2).reshape(new Shape(dims));
    }

    private static long lastDim(Shape shape) {
        if (shape.dimension() == 0) {
            throw new IllegalArgumentException("a scalar has no last dimension to split or gather");
        }
        return shape.get(shape.dimension() - 1);
    }
}
