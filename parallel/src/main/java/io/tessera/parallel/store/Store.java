package io.tessera.parallel.store;

import java.time.Duration;
import java.util.List;

/**
 * A key-value store shared by the ranks of a job, for rendezvous: ranks publish their addresses and
 * wait for each other's. Modelled on PyTorch's {@code TCPStore}.
 *
 * <p>Every call that waits is bounded by the store's timeout and fails with a
 * {@link io.tessera.parallel.comm.CommunicationException} naming the key, the rank and the timeout.
 *
 * <p>Thread safety: implementations are thread-safe.
 */
public interface Store extends AutoCloseable {

    /**
     * Sets a key, waking everyone waiting for it.
     *
     * @param key the key
     * @param value the value
     */
    void set(String key, byte[] value);

    /**
     * Gets a key's value, waiting until some rank sets it.
     *
     * @param key the key
     * @return its value
     */
    byte[] get(String key);

    /**
     * Waits until every key is set.
     *
     * @param keys the keys
     * @param timeout how long to wait
     */
    void await(List<String> keys, Duration timeout);

    /**
     * Adds to a counter (a key holding a decimal integer; absent counts as 0).
     *
     * @param key the counter
     * @param delta the increment
     * @return the counter's new value
     */
    long add(String key, long delta);

    /**
     * Sets {@code key} to {@code desired} if its value is {@code expected} ({@code null}: the key is
     * absent).
     *
     * @param key the key
     * @param expected the value it must have, or null for absent
     * @param desired the new value
     * @return the key's value after the call: {@code desired} if it was swapped, the current value
     *     otherwise (null if absent)
     */
    byte[] compareAndSet(String key, byte[] expected, byte[] desired);

    /** @return the timeout of waiting calls */
    Duration timeout();

    @Override
    void close();
}
