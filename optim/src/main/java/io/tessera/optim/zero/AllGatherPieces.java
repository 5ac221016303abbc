package io.tessera.optim.zero;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.Work;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/** Re-assembles every bucket of a whole-buffer array from the ranks' updated pieces (stages 1 and 2). */
final class AllGatherPieces {

    private AllGatherPieces() {}

    /**
     * @param dp the data-parallel group
     * @param flat the whole-buffer array whose own piece of each bucket is up to date
     * @param buckets the buckets
     * @param pieces this rank's pieces
     * @param scratch owner of the copies of the pieces (input and output of a collective must not overlap)
     * @param bucketView the cached view of a bucket in {@code flat}
     */
    static void run(Communicator dp, NDArray flat, List<Bucket> buckets, Pieces pieces, NDManager scratch,
                    BiFunction<NDArray, Bucket, NDArray> bucketView) {
        List<Work> works = new ArrayList<>();
        for (Bucket b : buckets) {
            NDArray mine = pieces.inBuffer(flat, b).duplicate();
            mine.attach(scratch);
            works.add(dp.allGatherAsync(mine, bucketView.apply(flat, b)));
        }
        works.forEach(Work::await);
    }
}
