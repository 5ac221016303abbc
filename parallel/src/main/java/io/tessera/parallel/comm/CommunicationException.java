package io.tessera.parallel.comm;

/**
 * A collective or store operation failed: a peer died, stalled past the timeout, or sent bad data.
 * The message names the operation, the group, this rank and the missing peer when known.
 *
 * <p>Thread safety: immutable once thrown.
 */
public class CommunicationException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * @param message what failed, where and why
     */
    public CommunicationException(String message) {
        super(message);
    }

    /**
     * @param message what failed, where and why
     * @param cause the underlying error
     */
    public CommunicationException(String message, Throwable cause) {
        super(message, cause);
    }
}
