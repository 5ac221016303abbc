package io.tessera.parallel.nccl;

import io.tessera.parallel.comm.CommunicationException;
import io.tessera.parallel.store.Store;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Shares a group's {@code ncclUniqueId} through the rendezvous store: the group's rank 0 creates it
 * and sets {@code tessera/nccl/<group>/unique-id} to its 128 raw bytes; every other rank gets the key,
 * which waits for it (bounded by the store's timeout).
 *
 * <p>One key per group name: a group that builds a second communicator (after an abort, say) needs a
 * new name, e.g. with an epoch suffix.
 *
 * <p>Thread safety: stateless.
 */
final class NcclUniqueIds {

    /** {@code NCCL_UNIQUE_ID_BYTES}: the size of {@code ncclUniqueId} in every NCCL 2.x. */
    static final int BYTES = 128;

    private NcclUniqueIds() {}

    /**
     * @param group the group's name
     * @return the store key of its unique id
     */
    static String key(String group) {
        return "tessera/nccl/" + group + "/unique-id";
    }

    /**
     * Publishes (rank 0) or fetches (other ranks) the group's unique id.
     *
     * @param store the job's store
     * @param group the group's name, unique per communicator
     * @param rank this rank's index in the group
     * @param create makes a fresh id; called on rank 0 only
     * @return the id's bytes, the same on every rank
     * @throws CommunicationException if rank 0 does not publish within the store's timeout, or the value is
     *     not an id
     */
    static byte[] exchange(Store store, String group, int rank, Supplier<byte[]> create) {
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(group, "group");
        String key = key(group);
        if (rank == 0) {
            byte[] id = create.get();
            check(id, group, key);
            store.set(key, id);
            return id.clone();
        }
        byte[] id;
        try {
            id = store.get(key);
        } catch (CommunicationException e) {
            throw new CommunicationException("nccl init of group " + group + ": rank " + rank
                    + " did not receive the group's ncclUniqueId from its rank 0 (store key " + key + ") within "
                    + store.timeout().toMillis() + " ms; hint: rank 0 of the group has not started, or died", e);
        }
        check(id, group, key);
        return id;
    }

    private static void check(byte[] id, String group, String key) {
        if (id == null || id.length != BYTES) {
            throw new CommunicationException("nccl init of group " + group + ": store key " + key + " holds "
                    + (id == null ? "nothing" : id.length + " bytes") + ", expected a " + BYTES
                    + "-byte ncclUniqueId; hint: another job or group uses the same store key");
        }
    }
}
