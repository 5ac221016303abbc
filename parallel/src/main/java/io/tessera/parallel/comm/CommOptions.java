package io.tessera.parallel.comm;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings shared by the Tessera communicators.
 *
 * <p>Thread safety: immutable.
 *
 * @param timeout how long one operation (or store call) may wait for its peers before failing
 * @param chunkBytes the largest message the ring algorithms send at once; smaller chunks pipeline
 *     better, larger ones cost fewer messages. Must be the same on every rank of a group.
 * @param sameHost how the Netty backend moves collective data between ranks on the same host; the TCP
 *     connection carries the signals in every case
 */
public record CommOptions(Duration timeout, int chunkBytes, SameHost sameHost) {

    /** How collective data moves between two ranks on one host (each choice falls back to the next). */
    public enum SameHost {
        /**
         * The receiver pulls each chunk straight from the sender's buffer with Linux cross-memory attach
         * ({@code process_vm_readv}): one copy per byte. Needs ptrace permission between the processes
         * (same user, no seccomp filter against it); probed per pair, else {@link #SHARED_MEMORY}.
         */
        CROSS_MEMORY,
        /** Through a ring of slots in {@code /dev/shm}: a copy in, a copy (or reduction) out; else {@link #TCP}. */
        SHARED_MEMORY,
        /** Over loopback TCP, as between hosts. */
        TCP
    }

    /** Default timeout of every operation, as in PyTorch's process groups. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(300);

    /** Default chunk size: 1 MiB. */
    public static final int DEFAULT_CHUNK_BYTES = 1 << 20;

    public CommOptions {
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(sameHost, "sameHost");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("communicator options: timeout = " + timeout + " must be positive");
        }
        if (chunkBytes < 64 || chunkBytes % 8 != 0) {
            throw new IllegalArgumentException("communicator options: chunkBytes = " + chunkBytes
                    + " must be a multiple of 8 and at least 64");
        }
    }

    /** @return the defaults: 300 s timeout, 1 MiB chunks, cross-memory attach between same-host ranks */
    public static CommOptions defaults() {
        return new CommOptions(DEFAULT_TIMEOUT, DEFAULT_CHUNK_BYTES, SameHost.CROSS_MEMORY);
    }

    /**
     * @param newTimeout the timeout
     * @return a copy with that timeout
     */
    public CommOptions withTimeout(Duration newTimeout) {
        return new CommOptions(newTimeout, chunkBytes, sameHost);
    }

    /**
     * @param newChunkBytes the chunk size
     * @return a copy with that chunk size
     */
    public CommOptions withChunkBytes(int newChunkBytes) {
        return new CommOptions(timeout, newChunkBytes, sameHost);
    }

    /**
     * @param transfer how same-host ranks exchange collective data
     * @return a copy with that setting
     */
    public CommOptions withSameHost(SameHost transfer) {
        return new CommOptions(timeout, chunkBytes, transfer);
    }

    /** @return the timeout as a short human string, e.g. {@code 5 s} */
    String timeoutText() {
        long ms = timeout.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
    }
}
