package io.tessera.parallel.comm;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A {@link Work} backed by a future that the communication thread completes.
 *
 * <p>Thread safety: thread-safe.
 */
final class FutureWork implements Work {

    private final CompletableFuture<Void> future;
    private final String what;

    FutureWork(CompletableFuture<Void> future, String what) {
        this.future = future;
        this.what = what;
    }

    @Override
    public void await() {
        try {
            future.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw new CommunicationException(cause.getMessage(), cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CommunicationException("interrupted while awaiting " + what
                    + "; the operation continues on the communication thread", e);
        }
    }

    @Override
    public boolean isDone() {
        return future.isDone();
    }
}
