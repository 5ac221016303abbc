package io.tessera.parallel.comm;

/**
 * A handle on an asynchronous collective, so that communication can overlap computation. The tensor
 * passed to the collective must not be read or written until {@link #await()} returns.
 *
 * <p>Thread safety: thread-safe.
 */
public interface Work {

    /** A completed handle. */
    Work DONE = new Work() {
        @Override
        public void await() {}

        @Override
        public boolean isDone() {
            return true;
        }
    };

    /**
     * Blocks until the collective has completed on this rank.
     *
     * @throws CommunicationException if it failed or timed out
     */
    void await();

    /** @return whether the collective has completed */
    boolean isDone();
}
