package io.tessera.parallel.comm;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A group of ranks that live as threads of one JVM and communicate through memory: the in-process
 * backend. The collectives run the same algorithms as the Netty backend between ranks linked by
 * cross-memory attach (each rank reads its peers' buffers in place), with messages handed over as
 * views of the sender's buffers (no copy, no sockets), so results are bit-identical on every rank and
 * identical to that backend's.
 *
 * <pre>{@code
 * LocalGroup group = new LocalGroup("dp", new int[] {0, 2}, CommOptions.defaults());
 * // on the thread of group rank i:
 * try (RingCommunicator c = group.communicator(i)) { c.allReduce(x, ReduceOp.SUM); }
 * }</pre>
 *
 * <p>Thread safety: thread-safe; each group rank's communicator is created once, by any thread.
 */
public final class LocalGroup {

    private final String name;
    private final int[] worldRanks;
    private final CommOptions options;
    private final LocalTransport[] transports;
    private final AtomicReferenceArray<RingCommunicator> created;

    /**
     * @param kind the group's kind for messages, e.g. {@code tp}; the name adds the world ranks
     * @param worldRanks world rank of each group rank
     * @param options timeout and chunk size
     */
    public LocalGroup(String kind, int[] worldRanks, CommOptions options) {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(options, "options");
        if (worldRanks.length < 1) {
            throw new IllegalArgumentException("local group " + kind + ": needs at least one rank");
        }
        this.worldRanks = worldRanks.clone();
        this.name = GroupName.of(kind, this.worldRanks);
        this.options = options;
        this.transports = new LocalTransport[worldRanks.length];
        for (int i = 0; i < transports.length; i++) {
            transports[i] = new LocalTransport(i, transports);
        }
        this.created = new AtomicReferenceArray<>(worldRanks.length);
    }

    /** @return the group's name, e.g. {@code tp[0,1]} */
    public String name() {
        return name;
    }

    /** @return the number of ranks */
    public int size() {
        return worldRanks.length;
    }

    /**
     * The communicator of one member; it owns a communication thread and must be closed.
     *
     * @param groupRank the member's index in the group
     * @return its communicator
     * @throws IllegalStateException if that member's communicator was already created
     */
    public RingCommunicator communicator(int groupRank) {
        if (groupRank < 0 || groupRank >= worldRanks.length) {
            throw new IllegalArgumentException("local group " + name + ": rank " + groupRank + " outside [0, "
                    + worldRanks.length + ")");
        }
        RingCommunicator c = new RingCommunicator(name, worldRanks, groupRank, transports[groupRank], options);
        if (!created.compareAndSet(groupRank, null, c)) {
            c.close();
            throw new IllegalStateException("local group " + name + ": the communicator of rank " + groupRank
                    + " was already created; create one LocalGroup per job");
        }
        return c;
    }

    @Override
    public String toString() {
        return "LocalGroup " + name;
    }
}
