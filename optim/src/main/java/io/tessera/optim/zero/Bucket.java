package io.tessera.optim.zero;

import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.parallel.comm.Shards;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A contiguous, parameter-aligned range {@code [from, to)} of the flat buffers: the unit of gradient
 * communication (a DDP bucket) and of ZeRO partitioning. Data-parallel rank r owns piece r of every
 * bucket, cut as {@link Shards} defines, so a bucket's reduce-scatter and all-gather are single
 * collectives.
 *
 * <pre>
 *   flat      [ p0 | p1 | p2 | p3 | p4 | p5 ]
 *   buckets     └── b1 ──┘   └──── b0 ────┘        built from the last parameter backwards, the
 *   pieces     [r0 |r1  ]   [ r0  | r1    ]        order in which backward finishes gradients
 * </pre>
 *
 * <p>Thread safety: immutable.
 *
 * @param index position in launch order (0 = the bucket backward completes first)
 * @param from first element in the flat buffers
 * @param to one past the last element
 * @param parameters the parameters it holds, in buffer order
 */
public record Bucket(int index, long from, long to, List<Parameter> parameters) {

    /** DDP's default bucket size: 25 MB. */
    public static final long DEFAULT_BYTES = 25L * 1024 * 1024;

    public Bucket {
        parameters = List.copyOf(parameters);
    }

    /** @return number of elements */
    public long length() {
        return to - from;
    }

    /**
     * @param parts data-parallel degree
     * @param rank data-parallel rank
     * @return first flat element of that rank's piece
     */
    public long pieceFrom(int parts, int rank) {
        return from + Shards.offset(length(), parts, rank);
    }

    /**
     * @param parts data-parallel degree
     * @param rank data-parallel rank
     * @return number of elements in that rank's piece
     */
    public long pieceLength(int parts, int rank) {
        return Shards.length(length(), parts, rank);
    }

    /**
     * Groups the buffer's parameters into buckets of at least {@code bucketElements} elements (the last
     * may be smaller), walking from the last parameter to the first.
     *
     * @param buffer the parameters
     * @param bucketElements target elements per bucket; 1 gives one bucket per parameter
     * @return buckets in launch order
     */
    public static List<Bucket> of(ParameterBuffer buffer, long bucketElements) {
        if (bucketElements < 1) {
            throw new IllegalArgumentException("bucket size " + bucketElements + " elements: must be at least 1");
        }
        List<Parameter> params = buffer.list();
        List<Bucket> buckets = new ArrayList<>();
        List<Parameter> current = new ArrayList<>();
        long to = buffer.numel();
        long size = 0;
        for (int i = params.size() - 1; i >= 0; i--) {
            Parameter p = params.get(i);
            current.add(p);
            size += p.numel();
            if (size >= bucketElements || i == 0) {
                Collections.reverse(current);
                long from = buffer.offset(current.get(0));
                buckets.add(new Bucket(buckets.size(), from, to, current));
                to = from;
                current = new ArrayList<>();
                size = 0;
            }
        }
        return buckets;
    }
}
