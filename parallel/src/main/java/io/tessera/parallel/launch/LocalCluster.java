package io.tessera.parallel.launch;

import io.tessera.core.Torch;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.comm.CommOptions;
import io.tessera.parallel.comm.CommunicationException;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.GroupName;
import io.tessera.parallel.comm.LocalGroup;
import io.tessera.parallel.comm.RingCommunicator;
import io.tessera.parallel.comm.SingleRankCommunicator;
import io.tessera.parallel.store.StoreServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Runs N ranks as threads of this JVM, each with its own {@link ParallelContext}, for tests and
 * single-machine experiments.
 *
 * <pre>{@code
 * List<Float> sums = LocalCluster.of(ParallelLayout.of(4, 2, 1)).withTimeout(Duration.ofSeconds(30)).run(ctx -> {
 *     try (NDManager m = NDManager.newBaseManager()) {
 *         NDArray x = m.create(new float[] {ctx.rank()});
 *         ctx.world().allReduce(x, ReduceOp.SUM);
 *         return x.getFloat();                            // 0+1+2+3 = 6 on every rank
 *     }
 * });
 * }</pre>
 *
 * <p>Each rank runs on its own thread with libtorch grad mode <em>off</em> (set explicitly: libtorch
 * keeps it per thread). Its communicators (world, tensor- and data-parallel, as
 * {@link ParallelLayout} assigns them; a group of one is a {@link SingleRankCommunicator}) are created
 * by the cluster and closed after every rank has returned. By default the ranks talk through the Netty
 * backend over loopback, exactly as separate processes would (rendezvous store, job token,
 * cross-memory attach between the ranks); {@link Backend#IN_PROCESS} runs the same ring algorithms over memory,
 * which starts faster and needs no sockets. {@link #run} returns the ranks' results in
 * rank order. If a rank throws, every other rank's communicators are aborted (their pending collectives
 * fail at once), their threads are interrupted, and {@code run} rethrows the first exception, with the
 * failing rank recorded as a suppressed exception. If the ranks do not finish within {@link #timeout()},
 * {@code run} fails the same way, naming the ranks still running and where they are. It never hangs.
 *
 * <p>Thread safety: immutable; {@link #run} may be called from any thread, including concurrently.
 *
 * @param layout the world and its degrees
 * @param backend how the ranks communicate
 * @param comm communicator options; their timeout bounds each collective
 * @param timeout bound on the whole run
 */
public record LocalCluster(ParallelLayout layout, Backend backend, CommOptions comm, Duration timeout) {

    /** Default bound on a whole run. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(120);

    /** How the ranks of a {@link LocalCluster} talk to each other. */
    public enum Backend {
        /** Through memory, with the same ring algorithms as the Netty backend; the fastest to start. */
        IN_PROCESS,
        /**
         * Through the Netty backend over loopback TCP, with a rendezvous store and a job token, exactly
         * as separate processes would ({@link DistributedJob}).
         */
        NETTY
    }

    public LocalCluster {
        Objects.requireNonNull(layout, "layout");
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(comm, "comm");
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("local cluster: timeout = " + timeout + " must be positive");
        }
    }

    /**
     * A cluster with the Netty backend over loopback, a 120 s bound on the run, and collectives that
     * time out after 60 s.
     *
     * @param layout the world and its degrees
     * @return the cluster
     */
    public static LocalCluster of(ParallelLayout layout) {
        return new LocalCluster(layout, Backend.NETTY, CommOptions.defaults().withTimeout(Duration.ofSeconds(60)),
                DEFAULT_TIMEOUT);
    }

    /**
     * Runs {@code body} on {@code world} ranks with no tensor or pipeline parallelism (all data-parallel).
     *
     * @param world number of ranks
     * @param timeout bound on the run and on each collective
     * @param body what each rank does
     * @param <T> result type
     * @return results in rank order
     */
    public static <T> List<T> run(int world, Duration timeout, Function<ParallelContext, T> body) {
        return run(ParallelLayout.of(world, 1, 1), timeout, body);
    }

    /**
     * Runs {@code body} on every rank of {@code layout}.
     *
     * @param layout the world and its degrees
     * @param timeout bound on the run and on each collective
     * @param body what each rank does
     * @param <T> result type
     * @return results in rank order
     */
    public static <T> List<T> run(ParallelLayout layout, Duration timeout, Function<ParallelContext, T> body) {
        return of(layout).withTimeout(timeout).run(body);
    }

    /**
     * @param newTimeout bound on the run; collectives get the same bound unless it is shorter
     * @return a copy with that timeout
     */
    public LocalCluster withTimeout(Duration newTimeout) {
        Duration c = comm.timeout().compareTo(newTimeout) < 0 ? comm.timeout() : newTimeout;
        return new LocalCluster(layout, backend, comm.withTimeout(c), newTimeout);
    }

    /**
     * @param newBackend the backend
     * @return a copy with that backend
     */
    public LocalCluster withBackend(Backend newBackend) {
        return new LocalCluster(layout, newBackend, comm, timeout);
    }

    /**
     * @param newComm communicator options (timeout per collective, chunk size)
     * @return a copy with those options
     */
    public LocalCluster withComm(CommOptions newComm) {
        return new LocalCluster(layout, backend, newComm, timeout);
    }

    /**
     * Runs {@code body} once per rank, each on its own thread, and waits for all of them.
     *
     * @param body what each rank does; it must not close the context's communicators
     * @param <T> result type
     * @return the ranks' results in rank order
     * @throws RuntimeException the first exception a rank threw (unchecked ones as they are), or a
     *     {@link io.tessera.parallel.comm.CommunicationException} if the run timed out
     */
    public <T> List<T> run(Function<ParallelContext, T> body) {
        Objects.requireNonNull(body, "body");
        int world = layout.world();
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Wiring wiring = backend == Backend.NETTY ? new NettyWiring(layout, comm) : new InProcessWiring(layout, comm)) {
            List<CompletableFuture<T>> results = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            List<Member> members = new CopyOnWriteArrayList<>();
            // completes with -1 once every rank has returned, or with the first rank that threw
            CompletableFuture<Integer> outcome = new CompletableFuture<>();
            AtomicInteger running = new AtomicInteger(world);
            for (int r = 0; r < world; r++) {
                CompletableFuture<T> result = new CompletableFuture<>();
                int rank = r;
                Thread t = new Thread(() -> {
                    try {
                        Torch.gradMode(false); // the thread ends with the rank: nothing to restore
                        Member m = wiring.join(rank);
                        members.add(m);
                        result.complete(body.apply(m.context()));
                        if (running.decrementAndGet() == 0) {
                            outcome.complete(-1);
                        }
                    } catch (Throwable e) {
                        result.completeExceptionally(e);
                        outcome.complete(rank);
                    }
                }, "tessera-rank-" + r);
                t.setDaemon(true);
                results.add(result);
                threads.add(t);
            }
            threads.forEach(Thread::start);
            int failed;
            try {
                failed = outcome.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                RuntimeException timedOut = timedOut(results, threads);
                shutDown(threads, members, "the local cluster timed out after " + timeout.toSeconds() + " s");
                throw timedOut;
            } catch (InterruptedException e) {
                shutDown(threads, members, "the thread running the local cluster was interrupted");
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while running " + world + " local ranks", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("unreachable: the outcome of a local cluster never fails", e);
            }
            if (failed >= 0) {
                Throwable thrown = causeOf(results.get(failed));
                shutDown(threads, members, "rank " + failed + " threw " + thrown);
                thrown.addSuppressed(new IllegalStateException("thrown by rank " + failed + " of " + world + " in a local cluster "
                        + layout + " (" + backend + "); the other ranks were aborted"));
                if (thrown instanceof RuntimeException) {
                    throw (RuntimeException) thrown;
                }
                if (thrown instanceof Error) {
                    throw (Error) thrown;
                }
                throw new IllegalStateException("rank " + failed + " of " + world + " failed: " + thrown, thrown);
            }
            members.forEach(Member::close);
            List<T> out = new ArrayList<>();
            for (CompletableFuture<T> f : results) {
                out.add(f.join());
            }
            return out;
        }
    }

    private static Throwable causeOf(CompletableFuture<?> f) {
        try {
            f.join();
            throw new IllegalStateException("unreachable: the rank did not fail");
        } catch (CompletionException e) {
            return e.getCause();
        }
    }

    private RuntimeException timedOut(List<? extends CompletableFuture<?>> results, List<Thread> threads) {
        StringBuilder b = new StringBuilder();
        for (int r = 0; r < results.size(); r++) {
            if (!results.get(r).isDone()) {
                StackTraceElement[] st = threads.get(r).getStackTrace();
                b.append(b.length() == 0 ? "" : "; ").append("rank ").append(r).append(" at ")
                        .append(st.length > 0 ? st[0] + (st.length > 1 ? " < " + st[1] : "") : "(no frame)");
            }
        }
        return new CommunicationException("local cluster " + layout + " did not finish within " + timeout.toSeconds()
                + " s; still running: " + b + "; hint: a rank is waiting for a collective that another rank never calls,"
                + " or the timeout is too short");
    }

    private static void shutDown(List<Thread> threads, List<Member> members, String reason) {
        members.forEach(m -> m.abort(reason));
        threads.forEach(Thread::interrupt);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        for (Thread t : threads) {
            try {
                t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** How the ranks of one run find each other: a strategy per {@link Backend}. */
    private interface Wiring extends AutoCloseable {
        /** Builds the context of {@code rank}; called on the rank's thread. */
        Member join(int rank);

        @Override
        void close();
    }

    /** One rank's communicators. */
    private interface Member {
        ParallelContext context();

        /** Fails the peers' pending operations with {@code reason}, then closes. */
        void abort(String reason);

        void close();
    }

    /** In-process groups, created up front so that every rank finds its peers. */
    private static final class InProcessWiring implements Wiring {
        private final ParallelLayout layout;
        private final int[] all;
        private final LocalGroup world;
        private final List<int[]> tensorRanks;
        private final List<int[]> dataRanks;
        private final List<int[]> pipelineRanks;
        private final List<LocalGroup> tensor = new ArrayList<>();
        private final List<LocalGroup> data = new ArrayList<>();
        private final List<LocalGroup> pipeline = new ArrayList<>();

        InProcessWiring(ParallelLayout layout, CommOptions options) {
            this.layout = layout;
            this.all = new int[layout.world()];
            Arrays.setAll(all, i -> i);
            this.world = layout.world() > 1 ? new LocalGroup("world", all, options) : null;
            this.tensorRanks = layout.tensorGroups();
            this.dataRanks = layout.dataGroups();
            for (int[] g : tensorRanks) {
                tensor.add(g.length > 1 ? new LocalGroup("tp", g, options) : null);
            }
            for (int[] g : dataRanks) {
                data.add(g.length > 1 ? new LocalGroup("dp", g, options) : null);
            }
            this.pipelineRanks = layout.pipelineGroups();
            for (int[] g : pipelineRanks) {
                pipeline.add(g.length > 1 ? new LocalGroup("pp", g, options) : null);
            }
        }

        @Override
        public Member join(int rank) {
            List<Communicator> owned = new CopyOnWriteArrayList<>();
            try {
                Communicator w = member(world, "world", all, rank, owned);
                Communicator t = memberOf(tensor, tensorRanks, "tp", rank, owned);
                Communicator d = memberOf(data, dataRanks, "dp", rank, owned);
                Communicator p = memberOf(pipeline, pipelineRanks, "pp", rank, owned);
                ParallelContext ctx = new ParallelContext(rank, layout, w, t, d, p);
                return new Member() {
                    @Override
                    public ParallelContext context() {
                        return ctx;
                    }

                    @Override
                    public void abort(String reason) {
                        for (Communicator c : owned) {
                            if (c instanceof RingCommunicator) {
                                ((RingCommunicator) c).abort(reason);
                            }
                        }
                    }

                    @Override
                    public void close() {
                        owned.forEach(Communicator::close);
                    }
                };
            } catch (RuntimeException e) {
                owned.forEach(Communicator::close);
                throw e;
            }
        }

        @Override
        public void close() {
            // in-process groups hold no resources of their own; each member closes its communicators
        }

        private static Communicator memberOf(List<LocalGroup> groups, List<int[]> ranks, String kind, int rank,
                List<Communicator> owned) {
            for (int i = 0; i < ranks.size(); i++) {
                if (Arrays.stream(ranks.get(i)).anyMatch(x -> x == rank)) {
                    return member(groups.get(i), kind, ranks.get(i), rank, owned);
                }
            }
            throw new IllegalStateException("rank " + rank + " is in no " + kind + " group");
        }

        private static Communicator member(LocalGroup group, String kind, int[] ranks, int rank, List<Communicator> owned) {
            int index = 0;
            while (ranks[index] != rank) {
                index++;
            }
            Communicator c = group == null ? new SingleRankCommunicator(GroupName.of(kind, ranks))
                    : group.communicator(index);
            owned.add(c);
            return c;
        }
    }

    /** A loopback store with a fresh token; each rank joins it as a {@link DistributedJob}. */
    private static final class NettyWiring implements Wiring {
        private final ParallelLayout layout;
        private final CommOptions options;
        private final String token;
        private final StoreServer store;

        NettyWiring(ParallelLayout layout, CommOptions options) {
            this.layout = layout;
            this.options = options;
            byte[] secret = new byte[16];
            new SecureRandom().nextBytes(secret);
            this.token = HexFormat.of().formatHex(secret);
            this.store = StoreServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), token);
        }

        @Override
        public Member join(int rank) {
            JobEnvironment env = new JobEnvironment(store.address().getAddress().getHostAddress(), store.address().getPort(),
                    rank, layout.world(), rank, layout.world(), token, "local cluster");
            DistributedJob job = DistributedJob.join(env, layout, options, false, 1);
            return new Member() {
                @Override
                public ParallelContext context() {
                    return job.context();
                }

                @Override
                public void abort(String reason) {
                    job.abort(reason);
                }

                @Override
                public void close() {
                    job.close();
                }
            };
        }

        @Override
        public void close() {
            store.close();
        }
    }
}
