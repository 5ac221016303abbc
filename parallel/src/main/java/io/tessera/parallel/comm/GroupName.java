package io.tessera.parallel.comm;

/**
 * The name every backend gives a group: its kind and world ranks, e.g. {@code tp[0,1]}. Stores key
 * their rendezvous entries by it, and messages use it to say which group failed.
 *
 * <p>Thread safety: stateless.
 */
public final class GroupName {

    private GroupName() {
    }

    /**
     * @param kind e.g. {@code world}, {@code tp}, {@code dp}
     * @param worldRanks the members, in group-rank order
     * @return the name, e.g. {@code dp[0,2]}
     */
    public static String of(String kind, int[] worldRanks) {
        StringBuilder b = new StringBuilder(kind).append('[');
        for (int i = 0; i < worldRanks.length; i++) {
            b.append(i == 0 ? "" : ",").append(worldRanks[i]);
        }
        return b.append(']').toString();
    }
}
