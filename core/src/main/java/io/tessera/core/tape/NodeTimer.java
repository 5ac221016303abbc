package io.tessera.core.tape;

/**
 * Told how long each node's forward and backward took, for profiles ({@link NodeProfile}). A tape with
 * no timer reads no clock.
 *
 * <p>Thread safety: called on the tape's thread.
 */
@FunctionalInterface
public interface NodeTimer {

    /**
     * @param nodeName the node's name
     * @param backward false for its forward, true for its backward (a checkpointed node's backward
     *     includes its forward rerun)
     * @param nanos wall-clock nanoseconds it took
     */
    void timed(String nodeName, boolean backward, long nanos);
}
