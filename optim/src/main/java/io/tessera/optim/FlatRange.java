package io.tessera.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.parallel.comm.Shards;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * A contiguous range {@code [bufferOffset, bufferOffset + length)} of a {@link ParameterBuffer}'s flat
 * parameter and gradient buffers, with the table of parameter pieces that tile it. An optimizer owns one
 * range: the whole buffer without ZeRO, this rank's shard with it.
 *
 * <pre>
 *   buffer     [ p0 ........ | p1 .. | p2 ............ | p3 ... ]
 *   shard 1 of 2:        [ p1' | p1 .. | p2 ...... ]              p1' and p2 are cut: incomplete segments
 *                        ^ bufferOffset            ^ bufferOffset + length
 * </pre>
 *
 * <p>Segments are in buffer order, non-empty, and cover the range without gaps; offsets are relative to
 * the range. {@link #tensorCount()} is the number of parameters of the whole buffer, so that per-tensor
 * vectors have the same length on every rank whatever shard it holds.
 *
 * <p>Thread safety: immutable.
 */
public final class FlatRange {

    private final long bufferOffset;
    private final long length;
    private final int tensorCount;
    private final List<FlatSegment> segments;

    private FlatRange(long bufferOffset, long length, int tensorCount, List<FlatSegment> segments) {
        this.bufferOffset = bufferOffset;
        this.length = length;
        this.tensorCount = tensorCount;
        this.segments = List.copyOf(segments);
    }

    /**
     * The whole buffer.
     *
     * @param buffer the parameters
     * @return a range over every element
     */
    public static FlatRange of(ParameterBuffer buffer) {
        return of(buffer, 0, buffer.numel());
    }

    /**
     * Elements {@code [from, to)} of the buffer; parameters cut by either end become incomplete segments.
     *
     * @param buffer the parameters
     * @param from first element
     * @param to one past the last element
     * @return the range
     */
    public static FlatRange of(ParameterBuffer buffer, long from, long to) {
        if (from < 0 || to > buffer.numel() || from > to) {
            throw new IllegalArgumentException("flat range [" + from + ", " + to + ") of a buffer of " + buffer.numel()
                    + " elements: need 0 <= from <= to <= numel");
        }
        List<Parameter> params = buffer.list();
        List<FlatSegment> segments = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) {
            Parameter p = params.get(i);
            long start = buffer.offset(p);
            long lo = Math.max(start, from);
            long hi = Math.min(start + p.numel(), to);
            if (lo < hi) {
                segments.add(new FlatSegment(p, i, lo - from, hi - lo, lo - start, p.weightDecay()));
            }
        }
        return new FlatRange(from, to - from, params.size(), segments);
    }

    /**
     * Shard {@code index} of {@code parts} of the buffer, cut as {@link Shards} defines (as the
     * communicators' reduce-scatter and all-gather do).
     *
     * @param buffer the parameters
     * @param parts number of shards (the data-parallel degree)
     * @param index this rank's shard (its data-parallel rank)
     * @return the shard's range
     */
    public static FlatRange shard(ParameterBuffer buffer, int parts, int index) {
        if (parts < 1 || index < 0 || index >= parts) {
            throw new IllegalArgumentException("shard " + index + " of " + parts + ": need parts >= 1 and 0 <= index < parts");
        }
        long from = Shards.offset(buffer.numel(), parts, index);
        return of(buffer, from, from + Shards.length(buffer.numel(), parts, index));
    }

    /** @return first element of the range in the buffer */
    public long bufferOffset() {
        return bufferOffset;
    }

    /** @return number of elements */
    public long length() {
        return length;
    }

    /** @return number of parameters in the whole buffer (the length of per-tensor vectors) */
    public int tensorCount() {
        return tensorCount;
    }

    /** @return the pieces, in buffer order */
    public List<FlatSegment> segments() {
        return segments;
    }

    /**
     * This range's elements of a whole-buffer array: a view, writes go through.
     *
     * @param bufferFlat a 1-D array laid out like the buffer, e.g. {@link ParameterBuffer#params()}
     * @return a 1-D view of {@link #length()} elements
     */
    public NDArray view(NDArray bufferFlat) {
        return bufferFlat.get(new NDIndex().addSliceDim(bufferOffset, bufferOffset + length));
    }

    /**
     * Maximal runs of adjacent segments that satisfy {@code test}, so that an element-wise update of all
     * of them costs one op per run rather than one per tensor.
     *
     * @param test which segments to include
     * @return the runs, in order
     */
    public List<Span> spans(Predicate<FlatSegment> test) {
        List<Span> spans = new ArrayList<>();
        long start = -1;
        long end = -1;
        for (FlatSegment s : segments) {
            if (!test.test(s)) {
                continue;
            }
            if (s.offset() != end) {
                if (start >= 0) {
                    spans.add(new Span(start, end - start));
                }
                start = s.offset();
            }
            end = s.end();
        }
        if (start >= 0) {
            spans.add(new Span(start, end - start));
        }
        return spans;
    }

    /**
     * Checks that a flat array can stand for this range.
     *
     * @param array the array
     * @param what its role, for the message
     */
    void checkArray(NDArray array, String what) {
        if (array.getShape().dimension() != 1 || array.size() != length) {
            throw new IllegalArgumentException(what + ": shape " + array.getShape() + " but the optimizer's range ["
                    + bufferOffset + ", " + (bufferOffset + length) + ") has " + length
                    + " elements; pass the 1-D view FlatRange.view(buffer.params()) (or the matching gradient shard)");
        }
    }

    @Override
    public String toString() {
        return "FlatRange[" + bufferOffset + ", " + (bufferOffset + length) + ") " + segments.size() + " segments of "
                + tensorCount + " tensors";
    }

    /**
     * A contiguous run of elements within the range.
     *
     * <p>Thread safety: immutable.
     *
     * @param offset first element within the range
     * @param length number of elements
     */
    public record Span(long offset, long length) {

        /**
         * @param flat a 1-D array laid out like the range
         * @return a view of this run
         */
        public NDArray view(NDArray flat) {
            return flat.get(new NDIndex().addSliceDim(offset, offset + length));
        }
    }
}
