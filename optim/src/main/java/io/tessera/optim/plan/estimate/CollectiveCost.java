package io.tessera.optim.plan.estimate;

/**
 * The α–β cost of the ring collectives and of a point-to-point send, for S bytes over n ranks on a link
 * of latency α seconds and bandwidth β bytes per second:
 *
 * <pre>
 *   ring all-reduce        2(n−1)/n · S/β + 2(n−1)·α
 *   ring reduce-scatter     (n−1)/n · S/β +  (n−1)·α
 *   ring all-gather         (n−1)/n · S/β +  (n−1)·α      (S is the gathered, full size)
 *   send/recv                         S/β +        α
 * </pre>
 *
 * A group of one rank costs nothing. {@code CollectiveCostTest} checks each line on hand-computed cases.
 *
 * <p>Thread safety: stateless.
 */
public final class CollectiveCost {

    private CollectiveCost() {}

    /**
     * @param bytes S
     * @param ranks n
     * @param link α and β
     * @return seconds of a ring all-reduce
     */
    public static double allReduce(double bytes, int ranks, Link link) {
        check(bytes, ranks);
        if (ranks == 1) {
            return 0;
        }
        return 2.0 * (ranks - 1) / ranks * bytes / link.bytesPerSecond() + 2.0 * (ranks - 1) * link.latencySeconds();
    }

    /**
     * @param bytes S, the full (unscattered) size
     * @param ranks n
     * @param link α and β
     * @return seconds of a ring reduce-scatter
     */
    public static double reduceScatter(double bytes, int ranks, Link link) {
        check(bytes, ranks);
        if (ranks == 1) {
            return 0;
        }
        return (double) (ranks - 1) / ranks * bytes / link.bytesPerSecond() + (ranks - 1) * link.latencySeconds();
    }

    /**
     * @param bytes S, the full (gathered) size
     * @param ranks n
     * @param link α and β
     * @return seconds of a ring all-gather, the same as a reduce-scatter
     */
    public static double allGather(double bytes, int ranks, Link link) {
        return reduceScatter(bytes, ranks, link);
    }

    /**
     * @param bytes S
     * @param link α and β
     * @return seconds of one send/recv pair, {@code α + S/β}
     */
    public static double sendRecv(double bytes, Link link) {
        check(bytes, 2);
        return link.latencySeconds() + bytes / link.bytesPerSecond();
    }

    private static void check(double bytes, int ranks) {
        if (!(bytes >= 0)) {
            throw new IllegalArgumentException("bytes = " + bytes + " must be at least 0");
        }
        if (ranks < 1) {
            throw new IllegalArgumentException("ranks = " + ranks + " must be at least 1; a group has one rank or more");
        }
    }
}
