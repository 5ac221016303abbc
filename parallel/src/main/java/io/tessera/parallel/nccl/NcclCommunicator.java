package io.tessera.parallel.nccl;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import io.tessera.core.TensorMemory;
import io.tessera.parallel.comm.CommOptions;
import io.tessera.parallel.comm.CommunicationException;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.ElementType;
import io.tessera.parallel.comm.ReduceOp;
import io.tessera.parallel.comm.Shards;
import io.tessera.parallel.comm.Work;
import io.tessera.parallel.store.Store;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Collectives over CUDA tensors through NCCL. One instance per group and rank, each on its own CUDA
 * device (NCCL refuses two ranks of one communicator on the same device).
 *
 * <pre>{@code
 * try (NcclCommunicator dp = NcclCommunicator.create(job.store(), "dp[0,2]", dpRank, 2, localRank,
 *         CommOptions.defaults())) {
 *     NDArray grads = ...;                       // on Device.gpu(localRank), contiguous
 *     Work w = dp.allReduceAsync(grads, ReduceOp.AVG);
 *     ...                                        // compute that does not touch grads
 *     w.await();
 * }
 * }</pre>
 *
 * <p><b>Streams.</b> Each communicator has its own non-blocking CUDA stream. Before a collective it
 * makes that stream wait for an event recorded on the legacy default stream, where DJL's PyTorch ops
 * run, so the collective sees every value computed before the call without stalling later compute.
 * {@link Work#await()} returns once an event recorded after the collective has completed; until
 * then the tensor must be neither read nor written nor closed.
 *
 * <p><b>Timeouts.</b> The communicator is created non-blocking ({@code ncclConfig_t.blocking = 0}) so
 * that forming the group can be bounded too. Every wait — forming the group, each collective, close —
 * polls {@code ncclCommGetAsyncError} with the CUDA event, and when the options' timeout passes or NCCL
 * reports an error it calls {@code ncclCommAbort} (which also stops kernels stuck waiting for a peer)
 * and throws a {@link CommunicationException} naming the operation, the group, this rank, the device and
 * the timeout. An aborted communicator fails every later call with the first reason.
 *
 * <p><b>Data.</b> NDArrays must be contiguous and on {@code Device.gpu(device())}; fp32, fp16, int32 and
 * int64 reduce (bf16 cannot be an NDArray in DJL 0.35.1). The overloads over raw device addresses
 * carry bf16 too. The {@link ByteBuffer} overloads take host memory: they stage it through a device
 * scratch buffer and complete before returning. Uneven reduce-scatter and all-gather (the group size
 * does not divide the element count) run as a group of per-rank reduces or broadcasts.
 *
 * <p>One file on purpose: one NCCL communicator handle, its stream and events, and the mapping of every
 * collective onto the native calls and their completion polling, all tied to the handle's lifetime.
 *
 * <p>Thread safety: thread-safe. Collectives are issued in program order by one thread (as with every
 * backend); {@link Work#await()}, {@link #abort(String)} and {@link #close()} may come from any thread.
 */
public final class NcclCommunicator implements Communicator {

    private static final int ALIGN = 256;

    private final String name;
    private final int rank;
    private final int size;
    private final CommOptions options;
    private final NcclNative nat;
    /** Serialises issuing threads (one collective at a time, in order). */
    private final ReentrantLock issue = new ReentrantLock();
    /** Guards every native call on the communicator, including the polls from other threads. */
    private final Object nativeLock = new Object();
    private volatile String abortReason;
    private volatile boolean closed;

    private NcclCommunicator(String name, int rank, int size, int device, CommOptions options, byte[] uniqueId) {
        this.name = name;
        this.rank = rank;
        this.size = size;
        this.options = options;
        this.nat = new NcclNative(device);
        long deadline = System.nanoTime() + options.timeout().toNanos();
        try {
            int r;
            synchronized (nativeLock) {
                r = nat.initRank(uniqueId, size, rank);
            }
            settle("init", r, deadline);
        } catch (RuntimeException e) {
            synchronized (nativeLock) {
                nat.abort();
                nat.close();
            }
            if (e instanceof CommunicationException) {
                throw new CommunicationException(e.getMessage() + "; for init: every rank of the group must create its"
                        + " communicator within the timeout, each on its own device", e);
            }
            throw e;
        }
    }

    /**
     * Forms the group's NCCL communicator: rank 0 creates the {@code ncclUniqueId} and shares it through
     * the store; every rank then joins, bounded by {@code options.timeout()}.
     *
     * @param store the job's rendezvous store (may be null when {@code size == 1})
     * @param group the group's name, unique per communicator in the store, e.g. {@code dp[0,2]}
     * @param rank this rank's index in the group
     * @param size group size
     * @param device the CUDA device index of this rank
     * @param options the timeout (the chunk size and same-host settings do not apply to NCCL)
     * @return the communicator
     * @throws IllegalStateException if NCCL is not available here, with the reason and the fix
     * @throws CommunicationException if the group does not form within the timeout (the half-formed
     *     communicator is aborted)
     */
    public static NcclCommunicator create(Store store, String group, int rank, int size, int device, CommOptions options) {
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(options, "options");
        if (size < 1 || rank < 0 || rank >= size) {
            throw new IllegalArgumentException("nccl group " + group + ": rank " + rank + " of size " + size
                    + " is outside [0, size)");
        }
        if (device < 0) {
            throw new IllegalArgumentException("nccl group " + group + ": device = " + device + " must be >= 0");
        }
        NcclSupport.require("NcclCommunicator.create(" + group + ", rank " + rank + ")");
        if (size > 1) {
            Objects.requireNonNull(store, "store (needed to share the ncclUniqueId of a group of " + size + ")");
        }
        int devices = NcclSupport.probe().devices();
        if (device >= devices) {
            throw new IllegalArgumentException("nccl group " + group + ": rank " + rank + " asked for cuda:" + device
                    + " but this process sees " + devices + " device(s); hint: use the local rank modulo the device"
                    + " count, and check CUDA_VISIBLE_DEVICES");
        }
        byte[] id = size == 1 ? NcclNative.newUniqueId() : NcclUniqueIds.exchange(store, group, rank, NcclNative::newUniqueId);
        return new NcclCommunicator(group, rank, size, device, options, id);
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

    /** @return the CUDA device this rank's communicator runs on */
    public int device() {
        return nat.device();
    }

    @Override
    public Duration timeout() {
        return options.timeout();
    }

    // ---- NDArrays on the device ----

    @Override
    public Work allReduceAsync(NDArray tensor, ReduceOp op) {
        ElementType t = ElementType.of(tensor.getDataType(), "allReduce");
        return allReduceAsync(address(tensor, "allReduce"), tensor.size(), t, op);
    }

    @Override
    public Work reduceScatterAsync(NDArray input, NDArray output, ReduceOp op) {
        ElementType t = ElementType.of(input.getDataType(), "reduceScatter");
        sameType(input, output, "reduceScatter");
        checkShard("reduceScatter", input.size(), output.size());
        return reduceScatterAsync(address(input, "reduceScatter"), address(output, "reduceScatter"), input.size(), t, op);
    }

    @Override
    public Work allGatherAsync(NDArray input, NDArray output) {
        ElementType t = ElementType.of(input.getDataType(), "allGather");
        sameType(input, output, "allGather");
        checkShard("allGather", output.size(), input.size());
        return allGatherAsync(address(input, "allGather"), address(output, "allGather"), output.size(), t);
    }

    @Override
    public Work broadcastAsync(NDArray tensor, int root) {
        checkPeer(root, "broadcast root");
        long bytes = tensor.size() * tensor.getDataType().getNumOfBytes();
        long a = address(tensor, "broadcast");
        return launch("broadcast", () -> nat.broadcast(a, a, bytes, NcclTypes.bytes(), root));
    }

    @Override
    public void send(NDArray tensor, int peer) {
        checkPeer(peer, "send peer");
        long bytes = tensor.size() * tensor.getDataType().getNumOfBytes();
        long a = address(tensor, "send");
        launch("send", () -> nat.send(a, bytes, NcclTypes.bytes(), peer)).await();
    }

    @Override
    public void recv(NDArray tensor, int peer) {
        checkPeer(peer, "recv peer");
        long bytes = tensor.size() * tensor.getDataType().getNumOfBytes();
        long a = address(tensor, "recv");
        launch("recv", () -> nat.recv(a, bytes, NcclTypes.bytes(), peer)).await();
    }

    @Override
    public void barrier() {
        // as PyTorch's NCCL barrier: an all-reduce of one element; its completion on every rank is the barrier
        issue.lock();
        try {
            long s;
            synchronized (nativeLock) {
                s = nat.scratch(Integer.BYTES);
            }
            launch("barrier", () -> nat.allReduce(s, s, 1, NcclTypes.dataType(ElementType.INT32),
                    NcclTypes.reduceOp(ReduceOp.SUM))).await();
        } finally {
            issue.unlock();
        }
    }

    // ---- raw device addresses (bf16 included) ----

    /**
     * All-reduce in place over device memory.
     *
     * @param address device address of the first element, on {@link #device()}
     * @param count elements
     * @param type element type (bf16 included)
     * @param op the reduction
     * @return a handle
     */
    public Work allReduceAsync(long address, long count, ElementType type, ReduceOp op) {
        int dt = NcclTypes.dataType(type);
        int ro = NcclTypes.reduceOp(op);
        return launch("allReduce", () -> nat.allReduce(address, address, count, dt, ro));
    }

    /**
     * Reduce-scatter over device memory; shard {@code rank()} of the reduction lands at {@code output}.
     *
     * @param input device address of {@code n} elements, not modified
     * @param output device address of {@code Shards.length(n, size(), rank())} elements
     * @param n elements of the input
     * @param type element type
     * @param op the reduction
     * @return a handle
     */
    public Work reduceScatterAsync(long input, long output, long n, ElementType type, ReduceOp op) {
        int dt = NcclTypes.dataType(type);
        int ro = NcclTypes.reduceOp(op);
        if (n % size == 0) {
            return launch("reduceScatter", () -> nat.reduceScatter(input, output, n / size, dt, ro));
        }
        return launch("reduceScatter", () -> grouped(r -> {
            long off = Shards.offset(n, size, r) * type.bytes();
            // recvbuff is only written on the root; the others pass their own input slice
            return nat.reduce(input + off, r == rank ? output : input + off, Shards.length(n, size, r), dt, ro, r);
        }, n));
    }

    /**
     * All-gather over device memory, rank order.
     *
     * @param input device address of this rank's {@code Shards.length(n, size(), rank())} elements
     * @param output device address of {@code n} elements
     * @param n elements of the output
     * @param type element type
     * @return a handle
     */
    public Work allGatherAsync(long input, long output, long n, ElementType type) {
        int dt = NcclTypes.dataType(type);
        if (n % size == 0) {
            return launch("allGather", () -> nat.allGather(input, output, n / size, dt));
        }
        return launch("allGather", () -> grouped(r -> {
            long at = output + Shards.offset(n, size, r) * type.bytes();
            return nat.broadcast(r == rank ? input : at, at, Shards.length(n, size, r), dt, r);
        }, n));
    }

    // ---- host buffers, staged through device memory ----

    @Override
    public Work allReduceAsync(ByteBuffer buffer, ElementType type, ReduceOp op) {
        long count = elements(buffer, type, "allReduce");
        staged("allReduce", buffer, buffer.remaining(), dev -> allReduceAsync(dev, count, type, op), 0);
        return Work.DONE;
    }

    @Override
    public Work reduceScatterAsync(ByteBuffer input, ByteBuffer output, ElementType type, ReduceOp op) {
        long n = elements(input, type, "reduceScatter");
        checkShard("reduceScatter", n, elements(output, type, "reduceScatter"));
        long outAt = align(input.remaining());
        stagedInOut("reduceScatter", input, output, outAt, dev -> reduceScatterAsync(dev, dev + outAt, n, type, op));
        return Work.DONE;
    }

    @Override
    public Work allGatherAsync(ByteBuffer input, ByteBuffer output, ElementType type) {
        long n = elements(output, type, "allGather");
        checkShard("allGather", n, elements(input, type, "allGather"));
        long outAt = align(input.remaining());
        stagedInOut("allGather", input, output, outAt, dev -> allGatherAsync(dev, dev + outAt, n, type));
        return Work.DONE;
    }

    @Override
    public Work broadcastAsync(ByteBuffer buffer, int root) {
        checkPeer(root, "broadcast root");
        long bytes = buffer.remaining();
        staged("broadcast", buffer, bytes, dev -> launch("broadcast", () -> nat.broadcast(dev, dev, bytes, NcclTypes.bytes(),
                root)), 0);
        return Work.DONE;
    }

    @Override
    public void send(ByteBuffer buffer, int peer) {
        checkPeer(peer, "send peer");
        long bytes = buffer.remaining();
        staged("send", buffer, bytes, dev -> launch("send", () -> nat.send(dev, bytes, NcclTypes.bytes(), peer)), -1);
    }

    @Override
    public void recv(ByteBuffer buffer, int peer) {
        checkPeer(peer, "recv peer");
        long bytes = buffer.remaining();
        staged("recv", buffer, bytes, dev -> launch("recv", () -> nat.recv(dev, bytes, NcclTypes.bytes(), peer)), 1);
    }

    // ---- failure and shutdown ----

    /**
     * Aborts the communicator ({@code ncclCommAbort}): operations in flight here stop, peers' pending
     * collectives fail at their timeout or at once when NCCL notices, and every later call fails with
     * {@code reason}. Idempotent.
     *
     * @param reason why, for the messages
     */
    public void abort(String reason) {
        synchronized (nativeLock) {
            if (abortReason != null || closed) {
                return;
            }
            abortReason = reason;
            nat.abort();
        }
    }

    /**
     * Waits (bounded) for queued work, finalises and destroys the communicator, and frees its stream and
     * memory. A communicator that cannot be finalised in time is aborted instead. Idempotent.
     */
    @Override
    public void close() {
        issue.lock();
        try {
            if (closed) {
                return;
            }
            if (abortReason == null) {
                try {
                    launch("close", () -> NcclPoller.SUCCESS).await(); // drain the stream
                    int r;
                    synchronized (nativeLock) {
                        r = nat.finalizeComm();
                    }
                    settle("close", r, System.nanoTime() + options.timeout().toNanos());
                    synchronized (nativeLock) {
                        nat.destroy();
                    }
                } catch (CommunicationException e) {
                    abort("close failed: " + e.getMessage());
                }
            }
            synchronized (nativeLock) {
                closed = true;
                nat.close();
            }
        } finally {
            issue.unlock();
        }
    }

    // ---- internals ----

    /** One native call that queues work on the stream, returning an {@code ncclResult_t}. */
    @FunctionalInterface
    private interface Launch {
        int run();
    }

    /** One call per root rank inside an NCCL group. */
    @FunctionalInterface
    private interface PerRank {
        int run(int root);
    }

    /** Work on a staged device copy; returns the collective's handle. */
    @FunctionalInterface
    private interface OnDevice {
        Work run(long deviceAddress);
    }

    /**
     * Queues {@code launch} on the stream after the default stream's work and returns a handle on an event
     * recorded after it.
     */
    private Work launch(String op, Launch launch) {
        issue.lock();
        try {
            long deadline = System.nanoTime() + options.timeout().toNanos();
            int r;
            NcclNative.Event event;
            synchronized (nativeLock) {
                checkUsable(op);
                cuda(op, "cudaSetDevice", nat.setDevice());
                cuda(op, "ordering after the default stream", nat.orderAfterDefaultStream());
                r = launch.run();
            }
            settle(op, r, deadline);
            synchronized (nativeLock) {
                checkUsable(op);
                try {
                    event = nat.record();
                } catch (IllegalStateException e) {
                    throw failure(op, e.getMessage());
                }
            }
            return new NcclWork(op, event, deadline);
        } finally {
            issue.unlock();
        }
    }

    /** Runs one call per rank between {@code ncclGroupStart} and {@code ncclGroupEnd}; empty shards are skipped. */
    private int grouped(PerRank call, long n) {
        int r = nat.groupStart();
        if (r != NcclPoller.SUCCESS) {
            return r;
        }
        int first = NcclPoller.SUCCESS;
        for (int root = 0; root < size && first == NcclPoller.SUCCESS; root++) {
            if (Shards.length(n, size, root) > 0) {
                first = call.run(root);
            }
        }
        int end = nat.groupEnd();
        return first != NcclPoller.SUCCESS ? first : end;
    }

    /**
     * Host buffer through device memory: copy in (direction ≤ 0), run, wait, copy out (direction ≥ 0).
     * The stream is drained first so that the pageable copies never wait behind a stuck collective.
     */
    private void staged(String op, ByteBuffer buffer, long bytes, OnDevice run, int direction) {
        requireDirect(buffer, op);
        issue.lock();
        try {
            launch(op, () -> NcclPoller.SUCCESS).await();
            long dev;
            synchronized (nativeLock) {
                dev = nat.scratch(Math.max(bytes, 1));
                if (direction <= 0) {
                    cuda(op, "copy to the device", nat.toDevice(buffer.duplicate(), dev));
                }
            }
            run.run(dev).await();
            if (direction >= 0) {
                synchronized (nativeLock) {
                    cuda(op, "copy to the host", nat.toHost(dev, buffer.duplicate()));
                }
            }
        } finally {
            issue.unlock();
        }
    }

    private void stagedInOut(String op, ByteBuffer input, ByteBuffer output, long outAt, OnDevice run) {
        requireDirect(input, op);
        requireDirect(output, op);
        issue.lock();
        try {
            launch(op, () -> NcclPoller.SUCCESS).await();
            long dev;
            synchronized (nativeLock) {
                dev = nat.scratch(outAt + Math.max(output.remaining(), 1));
                cuda(op, "copy to the device", nat.toDevice(input.duplicate(), dev));
            }
            run.run(dev).await();
            synchronized (nativeLock) {
                cuda(op, "copy to the host", nat.toHost(dev + outAt, output.duplicate()));
            }
        } finally {
            issue.unlock();
        }
    }

    /** Polls a non-blocking communicator until the call is no longer in progress. */
    private void settle(String op, int result, long deadline) {
        if (result == NcclPoller.SUCCESS) {
            return;
        }
        if (result != NcclPoller.IN_PROGRESS) {
            throw failure(op, "NCCL returned " + ncclText(result));
        }
        NcclPoller.await(() -> asyncError() == NcclPoller.SUCCESS, this::asyncError, deadline,
                err -> failure(op, "NCCL reported " + ncclText(err)), () -> timedOut(op), () -> interrupted(op));
    }

    private void awaitEvent(String op, NcclNative.Event event, long deadline) {
        try {
            NcclPoller.await(event::done, this::asyncError, deadline, err -> failure(op, "NCCL reported " + ncclText(err)),
                    () -> timedOut(op), () -> interrupted(op));
        } catch (IllegalStateException e) { // a CUDA error surfaced by cudaEventQuery
            throw failure(op, e.getMessage());
        } finally {
            event.destroy();
        }
    }

    /** The communicator's state; -1 once aborted or closed. */
    private int asyncError() {
        synchronized (nativeLock) {
            return abortReason != null || closed ? -1 : nat.asyncError();
        }
    }

    private String ncclText(int code) {
        if (code == -1) {
            return "nothing: the communicator was " + (closed ? "closed" : "aborted (" + abortReason + ")");
        }
        String detail;
        synchronized (nativeLock) {
            detail = abortReason == null && !closed ? nat.lastError() : "";
        }
        return NcclNative.ncclText(code) + (detail.isEmpty() ? "" : ": " + detail);
    }

    private CommunicationException failure(String op, String what) {
        String where = where(op);
        abort(where + " failed: " + what);
        return new CommunicationException(where + " failed: " + what + "; the communicator was aborted (ncclCommAbort)"
                + " and every later call on it fails; hint: a peer may have died or called a different collective");
    }

    private CommunicationException timedOut(String op) {
        String where = where(op);
        String what = "did not complete within " + timeoutText();
        abort(where + " " + what);
        return new CommunicationException(where + " " + what + "; the communicator was aborted (ncclCommAbort) and every"
                + " later call on it fails; hint: a peer did not call the same collective, stalled or died (raise"
                + " CommOptions.timeout for slow steps)");
    }

    private CommunicationException interrupted(String op) {
        String where = where(op);
        abort(where + " was interrupted");
        return new CommunicationException(where + " was interrupted while waiting; the communicator was aborted");
    }

    private String where(String op) {
        return "nccl " + op + " on group " + name + " (rank " + rank + " of " + size + ", cuda:" + nat.device()
                + ", timeout " + timeoutText() + ")";
    }

    private String timeoutText() {
        long ms = options.timeout().toMillis();
        return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
    }

    private void checkUsable(String op) {
        if (closed) {
            throw new CommunicationException(where(op) + ": the communicator is closed");
        }
        if (abortReason != null) {
            throw new CommunicationException(where(op) + ": the communicator was aborted earlier: " + abortReason);
        }
    }

    private void cuda(String op, String what, int code) {
        if (code != 0) {
            throw failure(op, what + ": " + NcclNative.cudaText(code));
        }
    }

    private void checkPeer(int peer, String what) {
        if (peer < 0 || peer >= size) {
            throw new IllegalArgumentException("nccl group " + name + ": " + what + " " + peer + " is outside [0, " + size + ")");
        }
    }

    private void checkShard(String op, long n, long shard) {
        long expected = Shards.length(n, size, rank);
        if (shard != expected) {
            throw new IllegalArgumentException("nccl " + op + " on group " + name + ": rank " + rank + "'s shard has " + shard
                    + " elements but " + n + " elements over " + size + " ranks give it " + expected);
        }
    }

    private static void sameType(NDArray a, NDArray b, String op) {
        if (a.getDataType() != b.getDataType()) {
            throw new IllegalArgumentException("nccl " + op + ": input is " + a.getDataType() + " but output is "
                    + b.getDataType());
        }
    }

    private static long elements(ByteBuffer buffer, ElementType type, String op) {
        requireDirect(buffer, op);
        if (buffer.remaining() % type.bytes() != 0) {
            throw new IllegalArgumentException("nccl " + op + ": buffer of " + buffer.remaining()
                    + " bytes is not a whole number of " + type + " elements (" + type.bytes() + " bytes each)");
        }
        return buffer.remaining() / type.bytes();
    }

    private static void requireDirect(ByteBuffer buffer, String op) {
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("nccl " + op + ": the buffer must be direct (ByteBuffer.allocateDirect)");
        }
    }

    private static long align(long bytes) {
        return (bytes + ALIGN - 1) / ALIGN * ALIGN;
    }

    /** The device address of a contiguous tensor on this communicator's device. */
    private long address(NDArray tensor, String op) {
        if (!tensor.getDevice().isGpu() || tensor.getDevice().getDeviceId() != nat.device()) {
            throw new IllegalArgumentException("nccl " + op + " on group " + name + ": the tensor (" + tensor.getShape() + " "
                    + tensor.getDataType() + ") is on " + tensor.getDevice() + " but this communicator runs on cuda:"
                    + nat.device() + "; hint: move it with toDevice(Device.gpu(" + nat.device() + "), false), or use the"
                    + " ByteBuffer overloads for host memory");
        }
        if (Contiguity.known(tensor) == Boolean.FALSE) {
            throw new IllegalArgumentException("nccl " + op + " on group " + name + ": the tensor " + tensor.getShape()
                    + " is not contiguous; NCCL reads and writes one dense range (hint: communicate a contiguous copy)");
        }
        return TensorMemory.address(tensor);
    }

    /**
     * Whether a tensor is contiguous, asked of libtorch through DJL's (package-private) binding; DJL 0.35.1
     * has no public call for it.
     */
    private static final class Contiguity {
        private static final Method IS_CONTIGUOUS;
        private static final Object LIB;

        static {
            Method m = null;
            Object lib = null;
            try {
                Class<?> c = Class.forName("ai.djl.pytorch.jni.PyTorchLibrary");
                Field f = c.getDeclaredField("LIB");
                f.setAccessible(true);
                lib = f.get(null);
                m = c.getDeclaredMethod("torchIsContiguous", long.class);
                m.setAccessible(true);
            } catch (ReflectiveOperationException | RuntimeException e) {
                m = null;
            }
            IS_CONTIGUOUS = m;
            LIB = lib;
        }

        /** @return true or false, or null when DJL's binding cannot be reached */
        static Boolean known(NDArray tensor) {
            if (IS_CONTIGUOUS == null || !(tensor instanceof PtNDArray)) {
                return null;
            }
            try {
                return (Boolean) IS_CONTIGUOUS.invoke(LIB, ((PtNDArray) tensor).getHandle());
            } catch (ReflectiveOperationException e) {
                return null;
            }
        }
    }

    /** The handle of one queued collective: completion of the event recorded after it. */
    private final class NcclWork implements Work {
        private final String op;
        private final NcclNative.Event event;
        private final long deadline;
        private volatile boolean done;

        NcclWork(String op, NcclNative.Event event, long deadline) {
            this.op = op;
            this.event = event;
            this.deadline = deadline;
        }

        @Override
        public void await() {
            if (done) {
                return;
            }
            synchronized (this) {
                if (!done) {
                    awaitEvent(op, event, deadline);
                    done = true;
                }
            }
        }

        @Override
        public boolean isDone() {
            if (done) {
                return true;
            }
            try {
                return event.done();
            } catch (IllegalStateException e) {
                return true; // failed: await() reports it
            }
        }
    }
}
