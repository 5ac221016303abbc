package io.tessera.parallel.comm;

/**
 * How {@code n} elements are cut into {@code parts} contiguous shards: the first {@code n % parts}
 * shards hold {@code n / parts + 1} elements, the rest {@code n / parts} (as {@code numpy.array_split}).
 *
 * <p>Thread safety: stateless.
 */
public final class Shards {

    private Shards() {}

    /**
     * @param n total elements
     * @param parts number of shards
     * @param i shard index
     * @return first element of shard i
     */
    public static long offset(long n, int parts, int i) {
        long base = n / parts;
        long extra = n % parts;
        return i * base + Math.min(i, extra);
    }

    /**
     * @param n total elements
     * @param parts number of shards
     * @param i shard index
     * @return number of elements in shard i
     */
    public static long length(long n, int parts, int i) {
        return n / parts + (i < n % parts ? 1 : 0);
    }
}
