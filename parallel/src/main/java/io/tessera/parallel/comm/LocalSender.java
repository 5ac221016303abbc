package io.tessera.parallel.comm;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * How collective messages reach a peer on the same host without passing through TCP: by
 * cross-memory attach ({@link CmaSender}) or through a shared-memory ring ({@link ShmSender}). Either
 * way a small frame on the TCP channel rings the peer's doorbell, so messages stay in order.
 *
 * <p>Thread safety: implementations are thread-safe.
 */
interface LocalSender {

    /**
     * Sends a payload; it must stay unchanged until the future completes.
     *
     * @return completes when the payload may be reused
     */
    CompletableFuture<Void> send(long seq, byte opcode, ByteBuffer payload);

    /** Fails queued sends. */
    void close();

    /** Releases shared memory; called once no thread can send any more. */
    void unmap();
}
