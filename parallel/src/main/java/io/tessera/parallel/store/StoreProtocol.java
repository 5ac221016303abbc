package io.tessera.parallel.store;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * The store's wire format. Every frame is {@code [int length][byte type][payload]}; requests and
 * responses carry an {@code int} request id right after the type. The first frame of a connection is
 * {@code HELLO(token)}, answered by {@code OK} or {@code REFUSED(reason)}.
 *
 * <pre>
 *   HELLO   token                         -&gt; OK | REFUSED reason
 *   SET     id key value                  -&gt; OK id
 *   GET     id timeoutMs key              -&gt; VALUE id value | TIMEOUT id
 *   WAIT    id timeoutMs count key...     -&gt; OK id | TIMEOUT id
 *   ADD     id key delta                  -&gt; VALUE id decimal
 *   CAS     id key expected desired       -&gt; VALUE id current      (a value of length -1 is null)
 * </pre>
 *
 * <p>Thread safety: stateless.
 */
final class StoreProtocol {

    static final byte HELLO = 1;
    static final byte OK = 2;
    static final byte REFUSED = 3;
    static final byte SET = 4;
    static final byte GET = 5;
    static final byte WAIT = 6;
    static final byte ADD = 7;
    static final byte CAS = 8;
    static final byte VALUE = 9;
    static final byte TIMEOUT = 10;

    /** Largest frame accepted: keys and values are small (addresses, ids). */
    static final int MAX_FRAME = 16 * 1024 * 1024;

    private StoreProtocol() {}

    static void writeString(ByteBuf out, String s) {
        writeBytes(out, s.getBytes(StandardCharsets.UTF_8));
    }

    static String readString(ByteBuf in) {
        return new String(readBytes(in), StandardCharsets.UTF_8);
    }

    static void writeBytes(ByteBuf out, byte[] b) {
        if (b == null) {
            out.writeInt(-1);
        } else {
            out.writeInt(b.length);
            out.writeBytes(b);
        }
    }

    static byte[] readBytes(ByteBuf in) {
        int n = in.readInt();
        if (n < 0) {
            return null;
        }
        byte[] b = new byte[n];
        in.readBytes(b);
        return b;
    }

    /** Compares tokens in time independent of where they differ. */
    static boolean tokenMatches(String expected, String presented) {
        return MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8), presented.getBytes(StandardCharsets.UTF_8));
    }
}
