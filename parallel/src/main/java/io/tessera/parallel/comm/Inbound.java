package io.tessera.parallel.comm;

import java.nio.ByteBuffer;

/**
 * One message received from a peer: the operation it belongs to and its payload, which stays valid
 * until {@link #release()}.
 *
 * <p>Thread safety: handed from the receiving side to one communication thread; not shared.
 */
final class Inbound {

    private final long seq;
    private final byte opcode;
    private final ByteBuffer data;
    private final Runnable release;

    /**
     * @param seq the sender's operation number
     * @param opcode the sender's operation kind ({@link OpKind#ordinal()})
     * @param data the payload, a direct buffer
     * @param release returns the payload's memory (and tells a zero-copy sender it may reuse it)
     */
    Inbound(long seq, byte opcode, ByteBuffer data, Runnable release) {
        this.seq = seq;
        this.opcode = opcode;
        this.data = data;
        this.release = release;
    }

    long seq() {
        return seq;
    }

    byte opcode() {
        return opcode;
    }

    ByteBuffer data() {
        return data;
    }

    void release() {
        release.run();
    }
}
