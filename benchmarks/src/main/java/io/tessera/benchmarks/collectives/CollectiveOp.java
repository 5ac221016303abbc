package io.tessera.benchmarks.collectives;

import java.util.Locale;

/**
 * The collectives the benchmark measures, with nccl-tests' bus-bandwidth factors: the factor turns
 * the algorithm bandwidth ({@code bytes / time}) into the bandwidth each link must sustain, so that
 * numbers compare across world sizes.
 *
 * <p>Thread safety: immutable.
 */
public enum CollectiveOp {
    /** All-reduce of {@code bytes}: busbw = algbw × 2(n−1)/n. */
    ALLREDUCE,
    /** Reduce-scatter of a {@code bytes} input: busbw = algbw × (n−1)/n. */
    REDUCESCATTER,
    /** All-gather into a {@code bytes} output: busbw = algbw × (n−1)/n. */
    ALLGATHER,
    /** Broadcast of {@code bytes}: busbw = algbw. */
    BROADCAST;

    /**
     * @param world number of ranks
     * @return busbw / algbw
     */
    public double busFactor(int world) {
        switch (this) {
            case ALLREDUCE:
                return 2.0 * (world - 1) / world;
            case REDUCESCATTER:
            case ALLGATHER:
                return (double) (world - 1) / world;
            default:
                return 1.0;
        }
    }

    /** @return the lower-case name used on the command line, in JSON and by the Gloo script */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @param label e.g. {@code allreduce}
     * @return the op
     */
    public static CollectiveOp parse(String label) {
        for (CollectiveOp op : values()) {
            if (op.label().equals(label.trim().toLowerCase(Locale.ROOT))) {
                return op;
            }
        }
        throw new IllegalArgumentException("unknown collective '" + label + "'; choose from allreduce, reducescatter,"
                + " allgather, broadcast");
    }
}
