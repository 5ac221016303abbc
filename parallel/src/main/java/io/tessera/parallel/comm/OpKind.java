package io.tessera.parallel.comm;

/**
 * The operations a {@link RingCommunicator} runs; carried in every message to detect mismatched calls.
 *
 * <p>Thread safety: immutable.
 */
enum OpKind {
    ALL_REDUCE("allReduce"),
    REDUCE_SCATTER("reduceScatter"),
    ALL_GATHER("allGather"),
    BROADCAST("broadcast"),
    SEND("send"),
    RECV("recv"),
    BARRIER("barrier");

    private final String label;

    OpKind(String label) {
        this.label = label;
    }

    /** @return the method name users call */
    String label() {
        return label;
    }

    /**
     * The kind a peer's message carries; a recv matches a send.
     *
     * @return the opcode sent on the wire
     */
    byte wire() {
        return (byte) (this == RECV ? SEND.ordinal() : ordinal());
    }

    static String labelOf(byte wire) {
        return wire >= 0 && wire < values().length ? values()[wire].label : "unknown op " + wire;
    }
}
