package io.tessera.parallel.comm;

import ai.djl.ndarray.NDArray;
import io.tessera.core.TensorMemory;
import io.tessera.core.Torch;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The collectives of the Tessera CPU backends, as ring algorithms over a {@link Transport} (Netty
 * sockets between processes, or memory between threads of one JVM).
 *
 * <p>All-reduce is a ring reduce-scatter followed by a ring all-gather (Patarasuk and Yuan; NCCL's
 * ring). The {@code n} elements are cut into {@code size} segments as {@link Shards} defines; at step
 * {@code s} rank {@code r} sends segment {@code r-s-1} to {@code r+1} and reduces segment
 * {@code r-s-2} received from {@code r-1}, so after {@code size-1} steps it holds the full reduction of
 * segment {@code r}. Each segment travels as chunks of at most {@link CommOptions#chunkBytes()}, and a
 * chunk is forwarded as soon as it is reduced, which pipelines the steps:
 *
 * <pre>
 *   reduce-scatter, 3 ranks, segments A B C          all-gather
 *   step 0:  r0 sends C   r1 sends A   r2 sends B     r0 sends A   r1 sends B   r2 sends C
 *   step 1:  r0 sends B+  r1 sends C+  r2 sends A+    r0 sends C*  r1 sends A*  r2 sends B*
 *   result:  r0 owns A*   r1 owns B*   r2 owns C*     every rank holds A* B* C*
 * </pre>
 *
 * Every rank sends and receives {@code 2 (size-1)/size} of the data; the reduction of each chunk runs in
 * libtorch on zero-copy views. Each segment is reduced in a fixed order and then copied, so every rank
 * ends with bit-identical results. In an all-reduce the last reduce-scatter step forwards each chunk as
 * soon as it is final, which is the first all-gather step. Broadcast is a pipelined chain from the
 * root; barrier waits for every peer's announcement of the operation.
 *
 * <p>When every member reads the others' buffers in place (threads of one JVM, or processes on one host
 * linked by cross-memory attach; {@link Transport#readsPeersInPlace()}), all-reduce, reduce-scatter,
 * all-gather and broadcast skip the ring: each rank pulls the segments it needs straight from their
 * owners (see "in-place algorithms" below), the same bytes as the ring in one step instead of
 * {@code 2(size-1)}, which matters most when the ranks outnumber the cores.
 *
 * <p>The receiving side of a ring collective is built as a {@link RingPlan} (for each arriving chunk:
 * its region, copy or reduce, forward or not) and run by the transport: the Netty transport applies
 * each chunk on its event loop as it is read, so a chunk crosses a rank without waking this
 * communicator's thread; the in-process transport runs the plan on the communication thread.
 *
 * <p>Every operation runs on this communicator's single communication thread, in submission order,
 * with libtorch grad mode off. Each starts by announcing itself to the peers; when it fails (timeout,
 * a peer gone, mismatched calls) the communicator is broken, the peers are told, and every later
 * operation fails at once. Messages name the operation, the group, this rank and the rank at fault.
 *
 * <p>One file on purpose: the communication thread, its queue and every collective's schedule share
 * the thread's state (sequence numbers, arrival plans, failure and abort handling); split by collective,
 * each part would need that state handed around.
 *
 * <p>Thread safety: thread-safe; collectives are issued by one thread in program order, as the
 * {@link Communicator} contract requires.
 */
public final class RingCommunicator implements Communicator {

    private static final Logger LOG = LoggerFactory.getLogger(RingCommunicator.class);
    private static final int MIN_CHUNKS_PER_SEGMENT = 4;
    private static final int MIN_CHUNK_BYTES = 64 * 1024;

    private final String name;
    private final int[] worldRanks;
    private final int rank;
    private final int size;
    private final Transport transport;
    private final CommOptions options;
    private final ExecutorService thread;
    private final ChunkReducer reducer = new ChunkReducer();
    private long issued;
    private final long[] sent;
    private final long[] received;
    private boolean closed;
    private volatile CommunicationException broken;

    RingCommunicator(String name, int[] worldRanks, int rank, Transport transport, CommOptions options) {
        this.name = name;
        this.worldRanks = worldRanks.clone();
        this.rank = rank;
        this.size = worldRanks.length;
        this.transport = transport;
        this.options = options;
        this.sent = new long[size];
        this.received = new long[size];
        String threadName = "tessera-comm-" + name + "-r" + rank;
        this.thread = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(() -> {
                Torch.GradMode noGrad = Torch.gradMode(false);
                SerialTorch.pinCurrentThread();
                try {
                    r.run();
                } finally {
                    noGrad.close();
                }
            }, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Duration timeout() {
        return options.timeout();
    }

    /** @return the world rank of each group rank */
    public int[] worldRanks() {
        return worldRanks.clone();
    }

    // ---------------------------------------------------------------- NDArray forms

    @Override
    public Work allReduceAsync(NDArray tensor, ReduceOp op) {
        ElementType type = ElementType.of(tensor.getDataType(), "allReduce on " + name);
        return allReduceAsync(bufferOf(tensor, "allReduce"), type, op);
    }

    @Override
    public Work reduceScatterAsync(NDArray input, NDArray output, ReduceOp op) {
        ElementType type = ElementType.of(input.getDataType(), "reduceScatter on " + name);
        checkSameType(input, output, "reduceScatter");
        return reduceScatterAsync(bufferOf(input, "reduceScatter"), bufferOf(output, "reduceScatter"), type, op);
    }

    @Override
    public Work allGatherAsync(NDArray input, NDArray output) {
        ElementType type = ElementType.of(input.getDataType(), "allGather on " + name);
        checkSameType(input, output, "allGather");
        return allGatherAsync(bufferOf(input, "allGather"), bufferOf(output, "allGather"), type);
    }

    @Override
    public Work broadcastAsync(NDArray tensor, int root) {
        ElementType.of(tensor.getDataType(), "broadcast on " + name);
        return broadcastAsync(bufferOf(tensor, "broadcast"), root);
    }

    @Override
    public void send(NDArray tensor, int peer) {
        ElementType.of(tensor.getDataType(), "send on " + name);
        send(bufferOf(tensor, "send"), peer);
    }

    @Override
    public void recv(NDArray tensor, int peer) {
        ElementType.of(tensor.getDataType(), "recv on " + name);
        recv(bufferOf(tensor, "recv"), peer);
    }

    // ---------------------------------------------------------------- buffer forms

    @Override
    public Work allReduceAsync(ByteBuffer buffer, ElementType type, ReduceOp op) {
        ByteBuffer b = region(buffer, type, "allReduce");
        long n = b.remaining() / type.bytes();
        return submit(OpKind.ALL_REDUCE, -1, n + " x " + type + ", " + op, o -> {
            if (size == 1) {
                return;
            }
            if (transport.readsPeersInPlace()) {
                offerSegments(o, b, n, type.bytes());
                o.run(o.inPlace(type, op, segment(b, n, type.bytes(), rank), true, otherSegments(b, n, type.bytes())));
                return;
            }
            RingPlan plan = o.plan(type, op);
            reduceScatterSteps(plan, b, n, type.bytes(), op, true);
            allGatherSteps(plan, b, n, type.bytes());
            o.run(plan);
        });
    }

    @Override
    public Work reduceScatterAsync(ByteBuffer input, ByteBuffer output, ElementType type, ReduceOp op) {
        ByteBuffer in = region(input, type, "reduceScatter");
        ByteBuffer out = region(output, type, "reduceScatter");
        long n = in.remaining() / type.bytes();
        long shard = Shards.length(n, size, rank);
        if (out.remaining() != shard * type.bytes()) {
            throw new IllegalArgumentException("reduceScatter on " + name + " at rank " + rank + ": input has " + n
                    + " elements, so this rank's output shard must hold " + shard + " but it holds "
                    + out.remaining() / type.bytes() + "; size it with Shards.length(n, size, rank)");
        }
        return submit(OpKind.REDUCE_SCATTER, -1, n + " x " + type + ", " + op, o -> {
            if (size == 1) {
                out.duplicate().put(in.duplicate());
                return;
            }
            if (transport.readsPeersInPlace()) {
                offerSegments(o, in, n, type.bytes());
                out.duplicate().put(segment(in, n, type.bytes(), rank));
                o.run(o.inPlace(type, op, out, false, new ByteBuffer[size]));
                return;
            }
            ByteBuffer work = reducer.scratch(in.remaining());
            work.duplicate().put(in.duplicate());
            RingPlan plan = o.plan(type, op);
            reduceScatterSteps(plan, work, n, type.bytes(), op, false);
            o.run(plan);
            out.duplicate().put(segment(work, n, type.bytes(), rank));
        });
    }

    @Override
    public Work allGatherAsync(ByteBuffer input, ByteBuffer output, ElementType type) {
        ByteBuffer in = region(input, type, "allGather");
        ByteBuffer out = region(output, type, "allGather");
        long n = out.remaining() / type.bytes();
        long shard = Shards.length(n, size, rank);
        if (in.remaining() != shard * type.bytes()) {
            throw new IllegalArgumentException("allGather on " + name + " at rank " + rank + ": output has " + n
                    + " elements, so this rank's input shard must hold " + shard + " but it holds "
                    + in.remaining() / type.bytes() + "; size it with Shards.length(n, size, rank)");
        }
        return submit(OpKind.ALL_GATHER, -1, n + " x " + type, o -> {
            segment(out, n, type.bytes(), rank).put(in.duplicate());
            if (size > 1 && transport.readsPeersInPlace()) {
                offerToAll(o, in);
                o.run(o.inPlace(type, ReduceOp.SUM, null, false, otherSegments(out, n, type.bytes())));
            } else if (size > 1) {
                RingPlan plan = o.plan(type, ReduceOp.SUM);
                sendSegment(plan, out, n, type.bytes(), rank);
                allGatherSteps(plan, out, n, type.bytes());
                o.run(plan);
            }
        });
    }

    @Override
    public Work broadcastAsync(ByteBuffer buffer, int root) {
        ByteBuffer b = region(buffer, null, "broadcast");
        checkPeer(root, "broadcast root", true);
        return submit(OpKind.BROADCAST, -1, b.remaining() + " bytes from rank " + root, o -> {
            if (size == 1) {
                return;
            }
            if (transport.readsPeersInPlace()) {
                if (rank == root) {
                    offerToAll(o, b);
                } else {
                    ByteBuffer[] from = new ByteBuffer[size];
                    from[root] = b;
                    o.run(o.inPlace(ElementType.INT32, ReduceOp.SUM, null, false, from));
                }
                return;
            }
            int pos = Math.floorMod(rank - root, size);
            RingPlan plan = o.plan(ElementType.INT32, ReduceOp.SUM);
            int step = chunkBytes((long) b.remaining() * size, 1);
            for (int off = 0; off < b.remaining(); off += step) {
                ByteBuffer chunk = slice(b, off, Math.min(step, b.remaining() - off));
                if (pos == 0) {
                    plan.send(chunk);
                } else {
                    plan.expect(chunk, RingPlan.Action.COPY, pos < size - 1);
                }
            }
            o.run(plan);
        });
    }

    @Override
    public void send(ByteBuffer buffer, int peer) {
        ByteBuffer b = region(buffer, null, "send");
        checkPeer(peer, "send peer", false);
        submit(OpKind.SEND, peer, b.remaining() + " bytes to rank " + peer, o -> {
            for (int off = 0; off < b.remaining(); off += options.chunkBytes()) {
                o.send(peer, slice(b, off, Math.min(options.chunkBytes(), b.remaining() - off)));
            }
        }).await();
    }

    @Override
    public void recv(ByteBuffer buffer, int peer) {
        ByteBuffer b = region(buffer, null, "recv");
        checkPeer(peer, "recv peer", false);
        submit(OpKind.RECV, peer, b.remaining() + " bytes from rank " + peer, o -> {
            for (int off = 0; off < b.remaining(); off += options.chunkBytes()) {
                ByteBuffer chunk = slice(b, off, Math.min(options.chunkBytes(), b.remaining() - off));
                Inbound m = o.recv(peer, chunk.remaining());
                try {
                    m.read(0, chunk);
                } catch (java.io.IOException e) {
                    throw new TransportException(TransportException.Kind.FAILED, peer, "could not be read from: " + e.getMessage());
                } finally {
                    m.release();
                }
            }
        }).await();
    }

    @Override
    public void barrier() {
        submit(OpKind.BARRIER, -1, "all ranks", o -> transport.awaitArrivals(o.seq, o.deadline)).await();
    }

    /**
     * Gives up on the group: pending and later operations fail here, and every peer's pending operation
     * fails with {@code reason}. Used when this rank hits an error that its peers cannot see.
     *
     * @param reason why, for the peers' messages
     */
    public void abort(String reason) {
        CommunicationException e = new CommunicationException("group " + name + " aborted by rank " + rank
                + " (world rank " + worldRanks[rank] + "): " + reason);
        if (broken == null) {
            broken = e;
        }
        transport.abortPeers("rank " + rank + " (world rank " + worldRanks[rank] + ") failed: " + reason);
        close();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        for (Runnable r : thread.shutdownNow()) {
            Task t = (Task) r;
            t.done.completeExceptionally(new CommunicationException(t.describe() + " was cancelled: the communicator"
                    + " was closed before it ran"));
        }
        transport.close();
        try {
            if (thread.awaitTermination(10, TimeUnit.SECONDS)) {
                reducer.close();
                transport.release();
            } else {
                LOG.warn("communication thread of {} rank {} did not stop within 10 s; leaving its scratch and shared memory"
                        + " to the garbage collector",
                        name, rank);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------- in-place algorithms

    /*
     * When every member reads the others' buffers in place (Transport#readsPeersInPlace: cross-memory
     * attach, or threads of one JVM), a collective needs no ring: a message is only the address of a
     * region, so each rank pulls what it needs straight from the owner, with no rank forwarding
     * another's data and no chain of n-1 dependent steps. All-reduce:
     *
     *   1. offer:   rank r tells each peer q where segment q of its buffer is
     *   2. reduce:  once every peer's offer is here, rank r pulls segment r from each, a cache-sized
     *               piece at a time, and reduces each piece into its own segment r (own value first,
     *               then peers r+1, r+2, ...); then it releases the offers, which tells the peers it has
     *               read them, and offers its finished segment r to every peer
     *   3. gather:  as each peer q's finished segment q arrives, rank r copies it over its own segment q
     *
     * Steps 2 and 3 run as an InPlacePlan where the messages arrive (the Netty event loop), like the
     * ring's plans. Every rank moves the ring's 2(n-1)/n of the data, but in two hops instead of
     * 2(n-1), which matters most when the ranks outnumber the cores and every hop waits for a core.
     * Step 3 may overwrite segment q because q offers its finished segment only after it has released
     * (finished reading) segment q of this rank. The operation ends when every peer has released what
     * this rank offered (Op#finishSends), so the buffer is not touched after it returns. Each segment
     * is reduced by one rank in a fixed order and then copied, so every rank ends with bit-identical
     * results. Reduce-scatter is steps 1 and 2 into the output (nothing offered back), all-gather is
     * an offer of the input to every peer and step 3, broadcast the root's offer and step 3.
     */

    /** Offers each peer q its segment q of {@code b} (step 1). */
    private void offerSegments(Op o, ByteBuffer b, long n, int eb) {
        for (int k = 1; k < size; k++) {
            int q = (rank + k) % size;
            ByteBuffer seg = segment(b, n, eb, q);
            if (seg.hasRemaining()) {
                o.send(q, seg);
            }
        }
    }

    /** Offers one region to every peer (all-gather, broadcast). */
    private void offerToAll(Op o, ByteBuffer region) {
        if (!region.hasRemaining()) {
            return;
        }
        for (int k = 1; k < size; k++) {
            o.send((rank + k) % size, region);
        }
    }

    /** @return segment q of {@code b} at index q for every peer, null at this rank's */
    private ByteBuffer[] otherSegments(ByteBuffer b, long n, int eb) {
        ByteBuffer[] segments = new ByteBuffer[size];
        for (int q = 0; q < size; q++) {
            segments[q] = q == rank ? null : segment(b, n, eb, q);
        }
        return segments;
    }

    // ---------------------------------------------------------------- ring algorithms

    /**
     * Ring reduce-scatter, in place: afterwards segment {@code rank} of {@code b} holds the reduction over
     * the group (divided by the size for AVG). With {@code thenGather}, each chunk of that segment is
     * sent on as soon as it is final: the first step of the all-gather that follows.
     */
    private void reduceScatterSteps(RingPlan plan, ByteBuffer b, long n, int eb, ReduceOp op, boolean thenGather) {
        sendSegment(plan, b, n, eb, Math.floorMod(rank - 1, size));
        for (int s = 0; s < size - 1; s++) {
            boolean last = s == size - 2;
            RingPlan.Action action = last && op == ReduceOp.AVG ? RingPlan.Action.REDUCE_AND_DIVIDE : RingPlan.Action.REDUCE;
            expectSegment(plan, b, n, eb, Math.floorMod(rank - s - 2, size), action, !last || thenGather);
        }
    }

    /** Ring all-gather, in place, of the segments after the one this rank sends first. */
    private void allGatherSteps(RingPlan plan, ByteBuffer b, long n, int eb) {
        for (int s = 0; s < size - 1; s++) {
            expectSegment(plan, b, n, eb, Math.floorMod(rank - s - 1, size), RingPlan.Action.COPY, s < size - 2);
        }
    }

    private void sendSegment(RingPlan plan, ByteBuffer b, long n, int eb, int segment) {
        ByteBuffer seg = segment(b, n, eb, segment);
        int chunk = chunkBytes(n * eb, eb);
        for (int off = 0; off < seg.remaining(); off += chunk) {
            plan.send(slice(seg, off, Math.min(chunk, seg.remaining() - off)));
        }
    }

    private void expectSegment(RingPlan plan, ByteBuffer b, long n, int eb, int segment, RingPlan.Action action, boolean forward) {
        ByteBuffer seg = segment(b, n, eb, segment);
        int chunk = chunkBytes(n * eb, eb);
        for (int off = 0; off < seg.remaining(); off += chunk) {
            plan.expect(slice(seg, off, Math.min(chunk, seg.remaining() - off)), action, forward);
        }
    }

    /**
     * The chunk size of a ring collective over {@code totalBytes}: {@link CommOptions#chunkBytes()}, or
     * smaller so that each segment splits into at least {@value #MIN_CHUNKS_PER_SEGMENT} chunks that
     * pipeline through the ring (but not below {@value #MIN_CHUNK_BYTES} bytes); whole elements. A
     * function of the arguments and options only, so every rank cuts the same chunks.
     */
    private int chunkBytes(long totalBytes, int elementBytes) {
        long pipelined = totalBytes / ((long) size * MIN_CHUNKS_PER_SEGMENT);
        long chunk = Math.min(options.chunkBytes(), Math.max(MIN_CHUNK_BYTES, pipelined));
        return (int) Math.max(elementBytes, chunk / elementBytes * elementBytes);
    }

    private ByteBuffer segment(ByteBuffer b, long n, int eb, int index) {
        return slice(b, Math.toIntExact(Shards.offset(n, size, index) * eb), Math.toIntExact(Shards.length(n, size, index) * eb));
    }

    private static ByteBuffer slice(ByteBuffer b, int offset, int length) {
        return b.slice(b.position() + offset, length).order(b.order());
    }

    // ---------------------------------------------------------------- operations and failures

    private interface Body {
        void run(Op op) throws TransportException;
    }

    /**
     * Queues an operation. Collectives are numbered in one sequence; point-to-point operations (with a
     * {@code peer}) in a sequence per peer and direction, since they pair up between two ranks only.
     */
    private synchronized Work submit(OpKind kind, int peer, String what, Body body) {
        if (closed) {
            throw new CommunicationException(kind.label() + " (" + what + ") on group " + name + " at rank " + rank
                    + ": the communicator is closed; hint: close communicators only after the last collective");
        }
        long seq = kind == OpKind.SEND ? ++sent[peer] : kind == OpKind.RECV ? ++received[peer] : ++issued;
        Task t = new Task(kind, peer, seq, what, body);
        try {
            thread.execute(t);
        } catch (RejectedExecutionException e) {
            throw new CommunicationException(t.describe() + ": the communicator is closed", e);
        }
        return new FutureWork(t.done, t.describe());
    }

    /** One submitted operation. */
    private final class Task implements Runnable {
        final OpKind kind;
        final int peer;
        final long seq;
        final String what;
        final Body body;
        final CompletableFuture<Void> done = new CompletableFuture<>();

        Task(OpKind kind, int peer, long seq, String what, Body body) {
            this.kind = kind;
            this.peer = peer;
            this.seq = seq;
            this.what = what;
            this.body = body;
        }

        String describe() {
            return kind.label() + " #" + seq + " (" + what + ") on group " + name + " at rank " + rank + " (world rank "
                    + worldRanks[rank] + ")";
        }

        @Override
        public void run() {
            CommunicationException earlier = broken;
            if (earlier != null) {
                done.completeExceptionally(new CommunicationException(describe() + " not started: the group is broken by an"
                        + " earlier failure: " + earlier.getMessage(), earlier));
                return;
            }
            long start = System.nanoTime();
            Op op = new Op(this, start + options.timeout().toNanos());
            try {
                if (peer < 0) {
                    transport.announce(seq);
                }
                body.run(op);
                op.finishSends();
                done.complete(null);
            } catch (TransportException e) {
                fail(explain(e, start), e.kind() != TransportException.Kind.FAILED);
            } catch (RuntimeException | Error e) {
                fail(new CommunicationException(describe() + " failed: " + e, e), true);
            }
        }

        private void fail(CommunicationException e, boolean tellPeers) {
            if (broken == null) {
                broken = e;
            }
            if (tellPeers) {
                transport.abortPeers(e.getMessage());
            }
            done.completeExceptionally(e);
        }

        private CommunicationException explain(TransportException e, long start) {
            int culprit = e.peer();
            String detail;
            String hint;
            switch (e.kind()) {
                case TIMEOUT:
                    if (peer >= 0) {
                        detail = kind == OpKind.RECV ? "has not sent the matching message (its send #" + seq + " to this rank)"
                                + " within the timeout of " + options.timeoutText() : e.getMessage() + " within the timeout of "
                                + options.timeoutText();
                        hint = "each recv must be matched by a send on the peer, in the same order";
                        break;
                    }
                    List<Integer> missing = new ArrayList<>();
                    for (int p = 0; p < size; p++) {
                        if (p != rank && transport.arrivedAt(p) < seq) {
                            missing.add(p);
                        }
                    }
                    if (!missing.isEmpty()) {
                        culprit = missing.get(0);
                        detail = "has not started this operation (the last it started is #" + transport.arrivedAt(culprit) + ")"
                                + (missing.size() > 1 ? "; also missing: " + describeRanks(missing.subList(1, missing.size())) : "");
                        hint = "every rank of the group must call the same collectives in the same order; check that rank "
                                + culprit + " is alive and not blocked elsewhere, or raise the timeout (now " + options.timeoutText() + ")";
                    } else {
                        detail = e.getMessage() + " within the timeout of " + options.timeoutText()
                                + " although every rank has started this operation";
                        hint = "a peer is stalled inside the operation (or the timeout is too short for this size);"
                                + " check its log or raise the timeout";
                    }
                    break;
                case DEPARTED:
                    detail = e.getMessage() + " while this rank still needed it";
                    hint = "close communicators only after the last collective has completed on every rank";
                    break;
                case FAILED:
                    detail = e.getMessage();
                    hint = "a peer process died or gave up; its own log or message names the first failure";
                    break;
                case MISMATCH:
                    detail = e.getMessage();
                    hint = "every rank must call the same collectives in the same order with tensors of the same shape"
                            + " and type, and the same chunkBytes option";
                    break;
                default:
                    detail = e.getMessage();
                    hint = "the communicator was closed or its thread interrupted while the operation ran";
                    break;
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            return new CommunicationException(String.format("%s failed after %.1f s: rank %d (world rank %d) %s; hint: %s",
                    describe(), seconds, culprit, worldRanks[culprit], detail, hint), e);
        }
    }

    private String describeRanks(List<Integer> ranks) {
        StringBuilder b = new StringBuilder();
        for (int p : ranks) {
            b.append(b.length() == 0 ? "" : ", ").append("rank ").append(p).append(" (world rank ").append(worldRanks[p]).append(')');
        }
        return b.toString();
    }

    /** The state of one running operation on the communication thread. */
    private final class Op {
        final Task task;
        final long seq;
        final long deadline;
        final List<CompletableFuture<Void>> sends = new ArrayList<>();
        final List<Integer> sendPeers = new ArrayList<>();

        Op(Task task, long deadline) {
            this.task = task;
            this.seq = task.seq;
            this.deadline = deadline;
        }

        void send(int peer, ByteBuffer payload) {
            sends.add(transport.send(peer, seq, task.kind.wire(), payload));
            sendPeers.add(peer);
        }

        /** A ring plan for this operation: chunks come from the previous rank and go to the next. */
        RingPlan plan(ElementType type, ReduceOp op) {
            return new RingPlan(transport, reducer, seq, task.kind, (rank - 1 + size) % size, (rank + 1) % size, type,
                    op == ReduceOp.AVG ? ReduceOp.SUM : op, size);
        }

        /** An in-place plan for this operation (see {@link InPlacePlan}). */
        InPlacePlan inPlace(ElementType type, ReduceOp op, ByteBuffer acc, boolean offerResult, ByteBuffer[] copyInto) {
            return new InPlacePlan(transport, reducer, seq, task.kind, rank, size, type, op, acc, offerResult, copyInto);
        }

        /** Runs an in-place plan and records what it offered, so that {@link #finishSends()} waits for it. */
        void run(InPlacePlan plan) throws TransportException {
            try {
                transport.execute(plan, deadline);
            } finally {
                sends.addAll(plan.sends());
                sendPeers.addAll(plan.sendPeers());
            }
        }

        /** Runs a plan and records what it sent, so that {@link #finishSends()} waits for it. */
        void run(RingPlan plan) throws TransportException {
            try {
                transport.execute(plan, deadline);
            } finally {
                for (CompletableFuture<Void> f : plan.sends()) {
                    sends.add(f);
                    sendPeers.add(plan.to());
                }
            }
        }

        Inbound recv(int peer, int expectedBytes) throws TransportException {
            Inbound m = transport.recv(peer, task.peer >= 0, deadline);
            if (m.seq() != seq || m.opcode() != task.kind.wire()) {
                m.release();
                throw new TransportException(TransportException.Kind.MISMATCH, peer, "is running "
                        + OpKind.labelOf(m.opcode()) + " #" + m.seq() + " while this rank runs " + task.kind.label() + " #" + seq);
            }
            if (m.length() != expectedBytes) {
                int got = m.length();
                m.release();
                throw new TransportException(TransportException.Kind.MISMATCH, peer, "sent a chunk of " + got
                        + " bytes where this rank expects " + expectedBytes);
            }
            return m;
        }

        /**
         * Waits until every payload sent by this operation has been handed over, so the caller may reuse it.
         * A broken group ends the wait at once: a dead peer never confirms delivery.
         */
        void finishSends() throws TransportException {
            for (int i = 0; i < sends.size(); i++) {
                int peer = sendPeers.get(i);
                try {
                    CompletableFuture.anyOf(sends.get(i), transport.failure())
                            .get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (TimeoutException e) {
                    throw new TransportException(TransportException.Kind.TIMEOUT, peer, "did not take delivery of this rank's data");
                } catch (ExecutionException e) {
                    TransportException fatal = transport.fatal();
                    if (fatal != null) {
                        throw fatal;
                    }
                    throw new TransportException(TransportException.Kind.FAILED, peer, "could not be sent data: " + e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new TransportException(TransportException.Kind.INTERRUPTED, peer, "interrupted while sending");
                }
            }
        }
    }

    // ---------------------------------------------------------------- argument checks

    private ByteBuffer region(ByteBuffer buffer, ElementType type, String op) {
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException(op + " on " + name + " at rank " + rank
                    + ": the buffer must be direct (ByteBuffer.allocateDirect or TensorMemory.buffer), got a heap buffer");
        }
        if (type != null && buffer.remaining() % type.bytes() != 0) {
            throw new IllegalArgumentException(op + " on " + name + " at rank " + rank + ": " + buffer.remaining()
                    + " bytes is not a whole number of " + type + " elements (" + type.bytes() + " bytes each)");
        }
        return buffer.slice().order(buffer.order());
    }

    private ByteBuffer bufferOf(NDArray tensor, String op) {
        ByteBuffer b = TensorMemory.buffer(tensor);
        long expected = tensor.size() * tensor.getDataType().getNumOfBytes();
        if (b.remaining() != expected) {
            throw new IllegalArgumentException(op + " on " + name + " at rank " + rank + ": tensor " + tensor.getShape()
                    + " " + tensor.getDataType() + " exposes " + b.remaining() + " bytes of storage but holds " + expected
                    + "; pass a contiguous tensor that owns its storage (toContiguous or duplicate)");
        }
        return b;
    }

    private void checkSameType(NDArray a, NDArray b, String op) {
        if (a.getDataType() != b.getDataType()) {
            throw new IllegalArgumentException(op + " on " + name + " at rank " + rank + ": input is " + a.getDataType()
                    + " but output is " + b.getDataType() + "; use the same type for both");
        }
    }

    private void checkPeer(int peer, String what, boolean selfAllowed) {
        if (peer < 0 || peer >= size || (!selfAllowed && peer == rank)) {
            throw new IllegalArgumentException(what + " " + peer + " on group " + name + " at rank " + rank + ": must be in [0, "
                    + size + ")" + (selfAllowed ? "" : " and not this rank"));
        }
    }
}
