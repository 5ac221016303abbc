package io.tessera.parallel.nccl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.tessera.core.Torch;
import io.tessera.parallel.comm.Bf16;
import io.tessera.parallel.comm.CommOptions;
import io.tessera.parallel.comm.CommunicationException;
import io.tessera.parallel.comm.ElementType;
import io.tessera.parallel.comm.ReduceOp;
import io.tessera.parallel.comm.Shards;
import io.tessera.parallel.comm.Work;
import io.tessera.parallel.store.StoreServer;
import io.tessera.parallel.store.TcpStore;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * NCCL collectives on CUDA tensors against a reference computed on the CPU, with one rank per visible
 * device (threads of this JVM, at most 4; a machine with one GPU runs groups of one, which still goes
 * through NCCL, the streams, the events and the timeouts). Skipped, with the probe's reason, where
 * NCCL is unavailable. Each check prints a row {@code [nccl-gpu] op | type | reduction | world | max
 * error}.
 */
class NcclGpuTest {

    private static final String TOKEN = "nccl-gpu-test";
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final AtomicInteger GROUPS = new AtomicInteger();
    private static StoreServer server;

    @BeforeAll
    static void start() {
        System.out.println("[nccl-gpu] " + NcclSupport.probe().describe());
        if (NcclSupport.available()) {
            server = StoreServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), TOKEN);
        }
    }

    @BeforeEach
    void requireNccl() {
        assumeTrue(NcclSupport.available(), () -> "NCCL unavailable: " + NcclSupport.unavailableReason());
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    private static int world() {
        return Math.min(4, NcclSupport.probe().devices());
    }

    /** What one rank does with its communicator. */
    interface RankBody<T> {
        T run(int rank, NcclCommunicator comm, NDManager manager);
    }

    /** Runs {@code body} on {@code world} ranks, rank r on cuda:r, each on its own thread and in its own group. */
    private static <T> List<T> ranks(int world, Duration timeout, RankBody<T> body) {
        return ranks(world, timeout, true, body);
    }

    /**
     * As {@link #ranks(int, Duration, RankBody)}; without {@code torch} the body gets no manager and
     * DJL's engine is not loaded (NCCL checks that stand even where DJL cannot load the machine's libtorch).
     */
    private static <T> List<T> ranks(int world, Duration timeout, boolean torch, RankBody<T> body) {
        String group = "test" + GROUPS.incrementAndGet() + "[" + world + "]";
        ExecutorService pool = Executors.newFixedThreadPool(world);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int r = 0; r < world; r++) {
                int rank = r;
                futures.add(pool.submit(() -> {
                    if (torch) {
                        Torch.gradMode(false);
                    }
                    try (TcpStore store = TcpStore.connect(server.address(), TOKEN, rank, timeout);
                            NcclCommunicator comm = NcclCommunicator.create(store, group, rank, world, rank,
                                    CommOptions.defaults().withTimeout(timeout));
                            NDManager m = torch ? NDManager.newBaseManager(Device.gpu(rank)) : null) {
                        return body.run(rank, comm, m);
                    }
                }));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : futures) {
                out.add(f.get(timeout.toSeconds() * 3, TimeUnit.SECONDS));
            }
            return out;
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException ? (RuntimeException) e.getCause() : new IllegalStateException(e.getCause());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            pool.shutdownNow();
        }
    }

    /** Element i of rank r: small integers (exact in every type), scaled by 1/2 for floating types. */
    private static long intValue(int r, long i) {
        return (i * 7 + r * 13L) % 17 - 8;
    }

    private static double value(int r, long i, DataType t) {
        return t.isFloating() ? intValue(r, i) * 0.5 : intValue(r, i);
    }

    private static NDArray make(NDManager m, int r, long offset, int n, DataType t) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = value(r, offset + i, t);
        }
        return m.create(v).toType(t, false);
    }

    private static double reference(int world, long i, DataType t, ReduceOp op) {
        double acc = op == ReduceOp.MAX ? Double.NEGATIVE_INFINITY : op == ReduceOp.MIN ? Double.POSITIVE_INFINITY : 0;
        for (int r = 0; r < world; r++) {
            double v = value(r, i, t);
            acc = op == ReduceOp.MAX ? Math.max(acc, v) : op == ReduceOp.MIN ? Math.min(acc, v) : acc + v;
        }
        if (op == ReduceOp.AVG) {
            acc = t.isFloating() ? acc / world : (double) ((long) acc / world); // integers truncate toward zero
        }
        return acc;
    }

    private static double[] host(NDArray a) {
        return a.toType(DataType.FLOAT64, false).toDevice(Device.cpu(), false).toDoubleArray();
    }

    private static double maxError(double[] got, int world, long offset, DataType t, ReduceOp op) {
        double worst = 0;
        for (int i = 0; i < got.length; i++) {
            worst = Math.max(worst, Math.abs(got[i] - reference(world, offset + i, t, op)));
        }
        return worst;
    }

    private static void row(String op, Object type, Object reduce, int world, double error) {
        System.out.println(String.format(Locale.ROOT, "[nccl-gpu] %-13s | %-8s | %-4s | world %d | max error %.3g", op, type,
                reduce, world, error));
    }

    @Test
    void allReduceEveryTypeAndReductionMatchesTheCpuReference() {
        int world = world();
        int n = 4099;
        for (DataType t : List.of(DataType.FLOAT32, DataType.FLOAT16, DataType.INT32, DataType.INT64)) {
            for (ReduceOp op : ReduceOp.values()) {
                List<Double> errors = ranks(world, TIMEOUT, (r, c, m) -> {
                    NDArray x = make(m, r, 0, n, t);
                    c.allReduce(x, op);
                    assertEquals(t, x.getDataType());
                    return maxError(host(x), world, 0, t, op);
                });
                double worst = errors.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
                row("allReduce", t, op, world, worst);
                double tolerance = t == DataType.FLOAT16 ? 1e-2 : t == DataType.FLOAT32 ? 1e-5 : 0;
                assertTrue(worst <= tolerance, "allReduce " + t + " " + op + ": max error " + worst);
            }
        }
    }

    @Test
    void bf16AndFp32ThroughHostBuffersAndDeviceAddresses() {
        int world = world();
        int n = 1001;
        List<Double> errors = ranks(world, TIMEOUT, (r, c, m) -> {
            ByteBuffer b = ByteBuffer.allocateDirect(n * 2).order(ByteOrder.nativeOrder());
            for (int i = 0; i < n; i++) {
                b.putShort(i * 2, Bf16.round((float) value(r, i, DataType.FLOAT32)));
            }
            c.allReduce(b, ElementType.BFLOAT16, ReduceOp.SUM);
            double worst = 0;
            for (int i = 0; i < n; i++) {
                worst = Math.max(worst, Math.abs(Bf16.widen(b.getShort(i * 2)) - reference(world, i, DataType.FLOAT32, ReduceOp.SUM)));
            }
            ByteBuffer f = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.nativeOrder());
            for (int i = 0; i < n; i++) {
                f.putFloat(i * 4, (float) value(r, i, DataType.FLOAT32));
            }
            c.allReduce(f, ElementType.FLOAT32, ReduceOp.MAX);
            for (int i = 0; i < n; i++) {
                worst = Math.max(worst, Math.abs(f.getFloat(i * 4) - reference(world, i, DataType.FLOAT32, ReduceOp.MAX)));
            }
            NDArray x = make(m, r, 0, n, DataType.FLOAT32);
            c.allReduceAsync(io.tessera.core.TensorMemory.address(x), n, ElementType.FLOAT32, ReduceOp.MIN).await();
            return Math.max(worst, maxError(host(x), world, 0, DataType.FLOAT32, ReduceOp.MIN));
        });
        double worst = errors.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        row("buffers/addr", "bf16+f32", "S/M/m", world, worst);
        assertEquals(0.0, worst, "small integers and halves are exact in bf16 and fp32");
    }

    @Test
    void hostBuffersEveryTypeWithoutLoadingDjl() {
        int world = world();
        int n = 513;
        for (ElementType t : ElementType.values()) {
            for (ReduceOp op : ReduceOp.values()) {
                List<Double> errors = ranks(world, TIMEOUT, false, (r, c, m) -> {
                    ByteBuffer b = ByteBuffer.allocateDirect(n * t.bytes()).order(ByteOrder.nativeOrder());
                    for (int i = 0; i < n; i++) {
                        put(b, i, t, value(r, i, t.isInteger() ? DataType.INT64 : DataType.FLOAT32));
                    }
                    c.allReduce(b, t, op);
                    double worst = 0;
                    for (int i = 0; i < n; i++) {
                        double ref = reference(world, i, t.isInteger() ? DataType.INT64 : DataType.FLOAT32, op);
                        worst = Math.max(worst, Math.abs(get(b, i, t) - ref));
                    }
                    return worst;
                });
                double worst = errors.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
                row("buffer allRed", t, op, world, worst);
                assertTrue(worst <= (t == ElementType.FLOAT32 || t.isInteger() ? 1e-5 : 2e-2), t + " " + op + ": " + worst);
            }
        }
    }

    @Test
    void broadcastCopiesTheRootsTensor() {
        int world = world();
        int root = world - 1;
        for (DataType t : List.of(DataType.FLOAT32, DataType.INT64, DataType.FLOAT16)) {
            List<double[]> got = ranks(world, TIMEOUT, (r, c, m) -> {
                NDArray x = make(m, r, 0, 777, t);
                c.broadcast(x, root);
                return host(x);
            });
            double[] expected = new double[777];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = value(root, i, t);
            }
            for (double[] g : got) {
                assertArrayEquals(expected, g);
            }
            row("broadcast", t, "-", world, 0);
        }
    }

    @Test
    void allGatherAndReduceScatterEvenAndUneven() {
        int world = world();
        for (int n : new int[] {64 * world, 64 * world + (world > 1 ? 3 : 0) + 1}) {
            List<double[]> gathered = ranks(world, TIMEOUT, (r, c, m) -> {
                long off = Shards.offset(n, world, r);
                NDArray shard = m.create(range(off, Shards.length(n, world, r)));
                NDArray all = m.zeros(new ai.djl.ndarray.types.Shape(n), DataType.FLOAT32);
                c.allGather(shard, all);
                return host(all);
            });
            for (double[] g : gathered) {
                assertArrayEquals(toDouble(range(0, n)), g, "allGather n=" + n);
            }
            row("allGather", DataType.FLOAT32, "-", world, 0);

            List<Double> errors = ranks(world, TIMEOUT, (r, c, m) -> {
                NDArray in = make(m, r, 0, n, DataType.FLOAT32);
                long off = Shards.offset(n, world, r);
                NDArray out = m.zeros(new ai.djl.ndarray.types.Shape(Shards.length(n, world, r)), DataType.FLOAT32);
                c.reduceScatter(in, out, ReduceOp.SUM);
                double e = maxError(host(out), world, off, DataType.FLOAT32, ReduceOp.SUM);
                return Math.max(e, lookAt(host(in), r)); // and the input is unchanged
            });
            double worst = errors.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
            row("reduceScatter", DataType.FLOAT32, "SUM", world, worst);
            assertEquals(0.0, worst, "reduceScatter n=" + n);
        }
    }

    @Test
    void asyncWorkCompletesAndBarrierPasses() {
        int world = world();
        List<Double> errors = ranks(world, TIMEOUT, (r, c, m) -> {
            NDArray big = make(m, r, 0, 1 << 22, DataType.FLOAT32);
            Work w = c.allReduceAsync(big, ReduceOp.SUM);
            NDArray other = m.ones(new ai.djl.ndarray.types.Shape(1024)).mul(3); // overlapping compute
            w.await();
            assertTrue(w.isDone());
            c.barrier();
            return maxError(host(big.get("0:4096")), world, 0, DataType.FLOAT32, ReduceOp.SUM) + other.sum().getFloat() * 0;
        });
        double worst = errors.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
        row("async+barrier", DataType.FLOAT32, "SUM", world, worst);
        assertEquals(0.0, worst);
    }

    @Test
    void sendAndRecvAroundARing() {
        int world = world();
        assumeTrue(world >= 2, "send/recv needs two CUDA devices (NCCL allows one rank per device); this machine has " + world);
        List<double[]> got = ranks(world, TIMEOUT, (r, c, m) -> {
            NDArray mine = make(m, r, 0, 300, DataType.FLOAT32);
            NDArray from = m.zeros(mine.getShape(), DataType.FLOAT32);
            if (r % 2 == 0) {
                c.send(mine, (r + 1) % world);
                c.recv(from, (r + world - 1) % world);
            } else {
                c.recv(from, (r + world - 1) % world);
                c.send(mine, (r + 1) % world);
            }
            return host(from);
        });
        for (int r = 0; r < world; r++) {
            int src = (r + world - 1) % world;
            for (int i = 0; i < 300; i++) {
                assertEquals(value(src, i, DataType.FLOAT32), got.get(r)[i]);
            }
        }
        row("send/recv", DataType.FLOAT32, "-", world, 0);
    }

    @Test
    void aRankThatNeverJoinsMakesInitTimeOutAndAbort() {
        long start = System.nanoTime();
        try (TcpStore store = TcpStore.connect(server.address(), TOKEN, 0, Duration.ofSeconds(10))) {
            CommunicationException e = assertThrows(CommunicationException.class,
                    () -> NcclCommunicator.create(store, "lonely[0,1]", 0, 2, 0, CommOptions.defaults().withTimeout(Duration.ofSeconds(3))));
            String m = e.getMessage();
            System.out.println("[nccl-gpu] init timeout: " + m);
            assertTrue(m.contains("init") && m.contains("lonely[0,1]") && m.contains("3 s") && m.contains("ncclCommAbort"), m);
        }
        double s = (System.nanoTime() - start) / 1e9;
        row("init timeout", "-", "-", 1, s);
        assertTrue(s < 30, "gave up after " + s + " s for a 3 s timeout");
    }

    @Test
    void aCollectiveThatAPeerSkipsTimesOutNamingTheOperation() {
        int world = world();
        assumeTrue(world >= 2, "a stalled peer needs two CUDA devices (NCCL allows one rank per device); this machine has " + world);
        CountDownLatch rankZeroDone = new CountDownLatch(1);
        List<String> messages = ranks(world, Duration.ofSeconds(3), (r, c, m) -> {
            if (r != 0) {
                await(rankZeroDone); // never calls the all-reduce
                c.abort("test: rank " + r + " stalls on purpose");
                return "";
            }
            NDArray x = make(m, r, 0, 1 << 16, DataType.FLOAT32);
            try {
                CommunicationException e = assertThrows(CommunicationException.class, () -> c.allReduce(x, ReduceOp.SUM));
                CommunicationException later = assertThrows(CommunicationException.class, () -> c.allReduce(x, ReduceOp.SUM));
                assertTrue(later.getMessage().contains("aborted earlier"), later.getMessage());
                return e.getMessage();
            } finally {
                rankZeroDone.countDown();
            }
        });
        String msg = messages.get(0);
        System.out.println("[nccl-gpu] collective timeout: " + msg);
        assertTrue(msg.contains("allReduce") && msg.contains("rank 0 of " + world) && msg.contains("3 s")
                && msg.contains("ncclCommAbort"), msg);
        row("stall timeout", DataType.FLOAT32, "SUM", world, 3);
    }

    @Test
    void tensorsOnTheWrongDeviceAreRefused() {
        List<String> messages = ranks(1, TIMEOUT, (r, c, m) -> {
            try (NDManager cpu = NDManager.newBaseManager(Device.cpu())) {
                return assertThrows(IllegalArgumentException.class, () -> c.allReduce(cpu.ones(new ai.djl.ndarray.types.Shape(4)),
                        ReduceOp.SUM)).getMessage();
            }
        });
        assertTrue(messages.get(0).contains("cuda:0") && messages.get(0).contains("toDevice"), messages.get(0));
    }

    private static void put(ByteBuffer b, int i, ElementType t, double v) {
        switch (t) {
            case FLOAT32: b.putFloat(i * 4, (float) v); break;
            case FLOAT16: b.putShort(i * 2, toHalf((float) v)); break;
            case BFLOAT16: b.putShort(i * 2, Bf16.round((float) v)); break;
            case INT32: b.putInt(i * 4, (int) v); break;
            default: b.putLong(i * 8, (long) v);
        }
    }

    private static double get(ByteBuffer b, int i, ElementType t) {
        switch (t) {
            case FLOAT32: return b.getFloat(i * 4);
            case FLOAT16: return fromHalf(b.getShort(i * 2));
            case BFLOAT16: return Bf16.widen(b.getShort(i * 2));
            case INT32: return b.getInt(i * 4);
            default: return b.getLong(i * 8);
        }
    }

    /** fp32 to IEEE binary16 for normal values (truncating; exact for the small halves used here). */
    private static short toHalf(float f) {
        int bits = Float.floatToIntBits(f);
        int sign = (bits >>> 16) & 0x8000;
        if (f == 0) {
            return (short) sign;
        }
        int exp = ((bits >>> 23) & 0xff) - 127 + 15;
        return (short) (sign | (exp << 10) | ((bits & 0x7fffff) >>> 13));
    }

    /** IEEE binary16 to fp32 (subnormals read as zero: below the tolerance of these checks). */
    private static float fromHalf(short h) {
        int v = h & 0xffff;
        int sign = (v & 0x8000) << 16;
        int exp = (v >>> 10) & 0x1f;
        if (exp == 0) {
            return Float.intBitsToFloat(sign);
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | ((v & 0x3ff) << 13));
    }

    private static float[] range(long from, long n) {
        float[] v = new float[(int) n];
        for (int i = 0; i < n; i++) {
            v[i] = from + i;
        }
        return v;
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** Max difference between a rank's input after the collective and what it was before. */
    private static double lookAt(double[] in, int r) {
        double worst = 0;
        for (int i = 0; i < in.length; i++) {
            worst = Math.max(worst, Math.abs(in[i] - value(r, i, DataType.FLOAT32)));
        }
        return worst;
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
