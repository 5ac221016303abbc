package io.tessera.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.Partition;
import java.util.Objects;

/**
 * The piece of one parameter that lies in a {@link FlatRange}: elements
 * {@code [parameterOffset, parameterOffset + length)} of the parameter's local (flattened) value sit at
 * {@code [offset, offset + length)} of the range.
 *
 * <pre>
 *   range      [ ... | seg k: offset .. offset+length | ... ]
 *   parameter  [ .. parameterOffset .. parameterOffset+length .. ]   (numel elements)
 * </pre>
 *
 * <p>A segment is {@linkplain #complete() complete} when it holds the whole local parameter; under ZeRO a
 * shard boundary may cut a parameter, and per-tensor quantities (LAMB's norms, the gradient norm) are then
 * summed over the data-parallel group by {@link TensorNorms}. {@link #tensorIndex()} is the parameter's
 * position in its {@link io.tessera.core.nn.ParameterBuffer}, the same on every rank, so that the partial
 * sums of one tensor line up in the vectors that ranks reduce together.
 *
 * <p>Thread safety: immutable.
 *
 * @param parameter the parameter
 * @param tensorIndex its index in buffer order
 * @param offset first element of the piece within the range
 * @param length number of elements of the piece, at least 1
 * @param parameterOffset first element of the piece within the parameter's flattened local value
 * @param weightDecay whether weight decay (and, by default, LAMB's trust ratio) applies
 */
public record FlatSegment(Parameter parameter, int tensorIndex, long offset, long length, long parameterOffset,
                          boolean weightDecay) {

    public FlatSegment {
        Objects.requireNonNull(parameter, "parameter");
        if (tensorIndex < 0 || offset < 0 || length < 1 || parameterOffset < 0 || parameterOffset + length > parameter.numel()) {
            throw new IllegalArgumentException("segment of " + parameter.name() + ": tensorIndex " + tensorIndex + ", offset "
                    + offset + ", length " + length + ", parameterOffset " + parameterOffset + " with numel " + parameter.numel()
                    + "; need indices >= 0, length >= 1 and parameterOffset + length <= numel");
        }
    }

    /** @return how the parameter is split over the tensor-parallel group */
    public Partition partition() {
        return parameter.partition();
    }

    /** @return whether the segment holds the whole local parameter */
    public boolean complete() {
        return parameterOffset == 0 && length == parameter.numel();
    }

    /** @return one past the last element within the range */
    public long end() {
        return offset + length;
    }

    /**
     * The elements of this segment in a flat array laid out like the range; a view, writes go through.
     *
     * @param flat a 1-D array of the range's length
     * @return a 1-D view of {@code length} elements
     */
    public NDArray view(NDArray flat) {
        return flat.get(new NDIndex().addSliceDim(offset, offset + length));
    }
}
