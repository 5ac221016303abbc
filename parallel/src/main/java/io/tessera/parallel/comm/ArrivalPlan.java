package io.tessera.parallel.comm;

/**
 * The receiving side of one collective as something a transport can run on the thread that receives
 * its messages ({@link Transport#runsPlansOnArrival()}), or the communication thread can feed: a
 * {@link RingPlan} (chunks from the previous rank) or an {@link InPlacePlan} (regions offered by every
 * peer).
 *
 * <p>Thread safety: implementations serialise {@link #accept}, {@link #fail} and {@link #cancel}.
 */
interface ArrivalPlan {

    /** Handles the next message from group rank {@code from}, releasing it when done with it. */
    void accept(int from, Inbound m);

    /** @return whether the plan still expects a message from {@code peer} */
    boolean awaits(int peer);

    /** Marks a plan that expects nothing as done; called once before any message is accepted. */
    void start();

    /** @return whether the plan has completed or failed */
    boolean settled();

    /** Fails the plan (a peer is gone, or sent something wrong); later messages are dropped. */
    void fail(TransportException e);

    /** Stops the plan: a message being applied finishes first, later ones are dropped. */
    void cancel();

    /**
     * Waits until the plan has handled every message it expects.
     *
     * @param deadline {@link System#nanoTime()} to give up at
     */
    void await(long deadline) throws TransportException;
}
