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
 * @param sharedMemory whether the Netty backend moves collective data between ranks on the same host
 *     through shared memory ({@code /dev/shm}) rather than loopback TCP; the TCP connection still
 *     carries the signals
 */
public record CommOptions(Duration timeout, int chunkBytes, boolean sharedMemory) {

    /** Default timeout of every operation, as in PyTorch's process groups. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(300);

    /** Default chunk size: 512 KiB. */
    public static final int DEFAULT_CHUNK_BYTES = 512 * 1024;

    public CommOptions {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("communicator options: timeout = " + timeout + " must be positive");
        }
        if (chunkBytes < 64 || chunkBytes % 8 != 0) {
            throw new IllegalArgumentException("communicator options: chunkBytes = " + chunkBytes
                    + " must be a multiple of 8 and at least 64");
        }
    }

    /** @return the defaults: 300 s timeout, 512 KiB chunks, shared memory between same-host ranks */
    public static CommOptions defaults() {
        return new CommOptions(DEFAULT_TIMEOUT, DEFAULT_CHUNK_BYTES, true);
    }

    /**
     * @param newTimeout the timeout
     * @return a copy with that timeout
     */
    public CommOptions withTimeout(Duration newTimeout) {
        return new CommOptions(newTimeout, chunkBytes, sharedMemory);
    }

    /**
     * @param newChunkBytes the chunk size
     * @return a copy with that chunk size
     */
    public CommOptions withChunkBytes(int newChunkBytes) {
        return new CommOptions(timeout, newChunkBytes, sharedMemory);
    }

    /**
     * @param enabled whether same-host ranks exchange data through shared memory
     * @return a copy with that setting
     */
    public CommOptions withSharedMemory(boolean enabled) {
        return new CommOptions(timeout, chunkBytes, enabled);
    }

    /** @return the timeout as a short human string, e.g. {@code 5 s} */
    String timeoutText() {
        long ms = timeout.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
    }
}
