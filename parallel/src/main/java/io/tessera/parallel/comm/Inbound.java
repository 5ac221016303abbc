package io.tessera.parallel.comm;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One message received from a peer: the operation it belongs to and its payload, which stays valid
 * until {@link #release()}. The payload is either here (a buffer: a socket's receive buffer, a
 * shared-memory slot, or the sender's own buffer in-process) or still in the sending process, to be
 * pulled by cross-memory attach ({@link Cma}).
 *
 * <p>Thread safety: handed from the receiving side to the one thread that applies it; not shared.
 */
final class Inbound {

    private final long seq;
    private final byte opcode;
    private final ByteBuffer data;
    private final long pid;
    private final long address;
    private final int length;
    private final Runnable release;

    private Inbound(long seq, byte opcode, ByteBuffer data, long pid, long address, int length, Runnable release) {
        this.seq = seq;
        this.opcode = opcode;
        this.data = data;
        this.pid = pid;
        this.address = address;
        this.length = length;
        this.release = release;
    }

    /**
     * A message whose payload is here.
     *
     * @param seq the sender's operation number
     * @param opcode the sender's operation kind ({@link OpKind#wire()})
     * @param data the payload, a direct buffer
     * @param release returns the payload's memory (and tells a zero-copy sender it may reuse it)
     */
    Inbound(long seq, byte opcode, ByteBuffer data, Runnable release) {
        this(seq, opcode, data, 0, 0, data == null ? 0 : data.remaining(), release);
    }

    /**
     * A message whose payload is still in the sender's memory.
     *
     * @param pid the sending process
     * @param address where the payload starts there
     * @param length its bytes
     * @param release acknowledges the message once it has been pulled
     */
    static Inbound remote(long seq, byte opcode, long pid, long address, int length, Runnable release) {
        return new Inbound(seq, opcode, null, pid, address, length, release);
    }

    long seq() {
        return seq;
    }

    byte opcode() {
        return opcode;
    }

    /** @return the payload's bytes */
    int length() {
        return length;
    }

    /** @return whether the payload must be pulled with {@link #read} */
    boolean isRemote() {
        return data == null;
    }

    /** @return the payload; only for messages that are not {@link #isRemote() remote} */
    ByteBuffer data() {
        return data;
    }

    /**
     * Copies {@code dst.remaining()} payload bytes starting at {@code offset} into {@code dst}.
     *
     * @throws IOException if a remote payload cannot be pulled (the sender is gone)
     */
    void read(int offset, ByteBuffer dst) throws IOException {
        if (data == null) {
            Cma.read(pid, address + offset, dst);
        } else {
            dst.duplicate().put(data.slice(data.position() + offset, dst.remaining()));
        }
    }

    void release() {
        release.run();
    }
}
