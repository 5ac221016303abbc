package io.tessera.parallel.comm;

/**
 * Why a transport could not deliver: the peer involved and what happened. Turned into a
 * {@link CommunicationException} with the operation's context by {@link RingCommunicator}.
 *
 * <p>Thread safety: immutable once thrown.
 */
final class TransportException extends Exception {

    private static final long serialVersionUID = 1L;

    /** What went wrong. */
    enum Kind {
        /** Nothing arrived from the peer before the deadline. */
        TIMEOUT,
        /** The peer closed its end in an orderly way. */
        DEPARTED,
        /** The peer's connection was lost, or a peer aborted the group. */
        FAILED,
        /** The waiting thread was interrupted (the communicator is closing). */
        INTERRUPTED,
        /** A peer's message does not match what this rank expects. */
        MISMATCH
    }

    private final Kind kind;
    private final int peer;

    TransportException(Kind kind, int peer, String detail) {
        super(detail);
        this.kind = kind;
        this.peer = peer;
    }

    Kind kind() {
        return kind;
    }

    /** @return the group rank of the peer involved */
    int peer() {
        return peer;
    }
}
