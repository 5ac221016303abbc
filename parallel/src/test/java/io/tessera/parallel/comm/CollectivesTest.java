package io.tessera.parallel.comm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.launch.LocalCluster;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every collective on 2, 3 and 4 in-JVM ranks, every element type and reduction, on odd sizes and with
 * chunks small enough to pipeline, against an fp64 reference computed here.
 */
class CollectivesTest {

    /** Small chunks so that odd sizes split into several uneven chunks per segment. */
    private static final CommOptions OPTIONS = CommOptions.defaults().withTimeout(Duration.ofSeconds(20)).withChunkBytes(96);
    private static final int[] SIZES = {1, 2, 5, 1001};

    /**
     * The in-process backend, and the Netty backend with same-host data by cross-memory attach, through
     * shared-memory rings, or over TCP.
     */
    static List<Arguments> clusters() {
        List<Arguments> a = new ArrayList<>();
        for (String transport : new String[] {"in-process", "netty+cma", "netty+ring", "netty+tcp"}) {
            for (int world : new int[] {2, 3, 4}) {
                a.add(Arguments.of(transport, world));
            }
        }
        return a;
    }

    private static LocalCluster cluster(String transport, int world) {
        LocalCluster c = LocalCluster.of(ParallelLayout.of(world, 1, 1)).withTimeout(Duration.ofSeconds(60));
        switch (transport) {
            case "in-process":
                return c.withBackend(LocalCluster.Backend.IN_PROCESS).withComm(OPTIONS);
            case "netty+cma":
                return c.withBackend(LocalCluster.Backend.NETTY).withComm(OPTIONS);
            case "netty+ring":
                return c.withBackend(LocalCluster.Backend.NETTY).withComm(OPTIONS.withSameHost(CommOptions.SameHost.SHARED_MEMORY));
            default:
                return c.withBackend(LocalCluster.Backend.NETTY).withComm(OPTIONS.withSameHost(CommOptions.SameHost.TCP));
        }
    }

    private static long seed(int rank, ElementType type, int n, int salt) {
        return ((rank * 31L + type.ordinal()) * 1009 + n) * 7 + salt;
    }

    @ParameterizedTest(name = "{0} world {1}")
    @MethodSource("clusters")
    void allReduceAndReduceScatterMatchReference(String transport, int world) {
        List<Map<String, double[][]>> results = cluster(transport, world).run(ctx -> {
            Communicator c = ctx.world();
            Map<String, double[][]> out = new LinkedHashMap<>();
            for (ElementType type : ElementType.values()) {
                for (ReduceOp op : ReduceOp.values()) {
                    for (int n : SIZES) {
                        ByteBuffer all = ElementData.encode(type, ElementData.random(type, n, seed(c.rank(), type, n, 1)));
                        ByteBuffer shard = ByteBuffer.allocateDirect((int) Shards.length(n, world, c.rank()) * type.bytes());
                        c.reduceScatter(all, shard, type, op);
                        Work w = c.allReduceAsync(all, type, op);
                        w.await();
                        assertTrue(w.isDone());
                        out.put(type + " " + op + " " + n, new double[][] {ElementData.decode(type, all), ElementData.decode(type, shard)});
                    }
                }
            }
            return out;
        });
        for (ElementType type : ElementType.values()) {
            for (ReduceOp op : ReduceOp.values()) {
                for (int n : SIZES) {
                    checkReductions(results, type + " " + op + " " + n, world, n, type, op, 1);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} world {1}")
    @MethodSource("clusters")
    void allGatherBroadcastAndSendRecvMoveExactBytes(String transport, int world) {
        List<Map<String, double[]>> results = cluster(transport, world).run(ctx -> {
            Communicator c = ctx.world();
            int r = c.rank();
            Map<String, double[]> out = new LinkedHashMap<>();
            for (ElementType type : ElementType.values()) {
                for (int n : SIZES) {
                    ByteBuffer shard = ElementData.encode(type, ElementData.random(type, (int) Shards.length(n, world, r), seed(r, type, n, 2)));
                    ByteBuffer gathered = ByteBuffer.allocateDirect(n * type.bytes());
                    c.allGather(shard, gathered, type);
                    out.put("gather " + type + " " + n, ElementData.decode(type, gathered));

                    int root = n % world;
                    ByteBuffer b = ElementData.encode(type, ElementData.random(type, n, seed(r, type, n, 3)));
                    c.broadcast(b, root);
                    out.put("broadcast " + type + " " + n, ElementData.decode(type, b));

                    ByteBuffer mine = ElementData.encode(type, ElementData.random(type, n, seed(r, type, n, 4)));
                    ByteBuffer theirs = ByteBuffer.allocateDirect(n * type.bytes());
                    c.send(mine, (r + 1) % world);
                    c.recv(theirs, (r - 1 + world) % world);
                    out.put("p2p " + type + " " + n, ElementData.decode(type, theirs));
                }
            }
            c.barrier();
            return out;
        });
        for (ElementType type : ElementType.values()) {
            for (int n : SIZES) {
                double[] gathered = new double[n];
                for (int r = 0; r < world; r++) {
                    double[] shard = ElementData.random(type, (int) Shards.length(n, world, r), seed(r, type, n, 2));
                    System.arraycopy(shard, 0, gathered, (int) Shards.offset(n, world, r), shard.length);
                }
                double[] rooted = ElementData.random(type, n, seed(n % world, type, n, 3));
                for (int r = 0; r < world; r++) {
                    Map<String, double[]> got = results.get(r);
                    assertArrayEquals(gathered, got.get("gather " + type + " " + n), 0.0, "allGather " + type + " " + n + " rank " + r);
                    assertArrayEquals(rooted, got.get("broadcast " + type + " " + n), 0.0, "broadcast " + type + " " + n + " rank " + r);
                    double[] sent = ElementData.random(type, n, seed((r - 1 + world) % world, type, n, 4));
                    assertArrayEquals(sent, got.get("p2p " + type + " " + n), 0.0, "send/recv " + type + " " + n + " rank " + r);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} world {1}")
    @MethodSource("clusters")
    void ndArrayFormsWorkInPlace(String transport, int world) {
        List<float[]> results = cluster(transport, world).run(ctx -> {
            try (NDManager m = NDManager.newBaseManager()) {
                Communicator c = ctx.world();
                NDArray x = m.arange(0f, 7f).add(c.rank() * 10f);
                c.allReduce(x, ReduceOp.SUM);
                NDArray h = m.arange(0f, 5f).toType(DataType.FLOAT16, false).add(c.rank());
                NDArray shard = m.zeros(new ai.djl.ndarray.types.Shape(Shards.length(5, world, c.rank())), DataType.FLOAT16);
                c.reduceScatter(h, shard, ReduceOp.MAX);
                NDArray gathered = m.zeros(new ai.djl.ndarray.types.Shape(5), DataType.FLOAT16);
                c.allGather(shard, gathered);
                NDArray ids = m.create(new long[] {c.rank(), 7, 9});
                c.broadcast(ids, world - 1);
                float[] out = new float[7 + 5 + 3];
                System.arraycopy(x.toFloatArray(), 0, out, 0, 7);
                System.arraycopy(gathered.toType(DataType.FLOAT32, false).toFloatArray(), 0, out, 7, 5);
                long[] l = ids.toLongArray();
                for (int i = 0; i < 3; i++) {
                    out[12 + i] = l[i];
                }
                return out;
            }
        });
        float base = 10f * world * (world - 1) / 2f;
        for (float[] got : results) {
            for (int i = 0; i < 7; i++) {
                assertEquals(i * world + base, got[i], 0f);
            }
            for (int i = 0; i < 5; i++) {
                assertEquals(i + world - 1, got[7 + i], 0f);
            }
            assertEquals(world - 1, got[12], 0f);
            assertEquals(9, got[14], 0f);
        }
    }

    /**
     * Buffers large enough that each rank's segment spans several of the pieces a rank pulls and reduces
     * at once ({@link ChunkReducer#PULL_BYTES}) and the ring's chunks, with a ragged last piece.
     */
    @ParameterizedTest(name = "{0} world {1}")
    @MethodSource("largeClusters")
    void largeBuffersSpanningSeveralPulledPiecesMatchReference(String transport, int world) {
        int n = ChunkReducer.PULL_BYTES / 2 * world + 13;
        ElementType[] types = {ElementType.FLOAT32, ElementType.FLOAT16, ElementType.INT64, ElementType.BFLOAT16};
        ReduceOp[] ops = {ReduceOp.SUM, ReduceOp.AVG, ReduceOp.MAX};
        LocalCluster cluster = cluster(transport, world);
        // the rings (and their pieces) use 1 MiB chunks here: the suite's 96-byte chunks would take minutes
        cluster = cluster.withComm(cluster.comm().withChunkBytes(1 << 20));
        List<Map<String, double[][]>> results = cluster.run(ctx -> {
            Communicator c = ctx.world();
            Map<String, double[][]> out = new LinkedHashMap<>();
            for (ElementType type : types) {
                for (ReduceOp op : ops) {
                    ByteBuffer all = ElementData.encode(type, ElementData.random(type, n, seed(c.rank(), type, n, 5)));
                    ByteBuffer shard = ByteBuffer.allocateDirect((int) Shards.length(n, world, c.rank()) * type.bytes());
                    c.reduceScatter(all, shard, type, op);
                    c.allReduce(all, type, op);
                    out.put(type + " " + op, new double[][] {ElementData.decode(type, all), ElementData.decode(type, shard)});
                }
            }
            return out;
        });
        for (ElementType type : types) {
            for (ReduceOp op : ops) {
                checkReductions(results, type + " " + op, world, n, type, op, 5);
            }
        }
    }

    /**
     * Checks one case's all-reduce (result 0) and reduce-scatter (result 1) on every rank against the
     * reference reduction of the inputs each rank drew with {@code seed(rank, type, n, salt)}; every
     * rank's all-reduce must also equal rank 0's bit for bit.
     */
    private static void checkReductions(List<Map<String, double[][]>> results, String key, int world, int n,
                                        ElementType type, ReduceOp op, int salt) {
        double[][] inputs = new double[world][];
        for (int r = 0; r < world; r++) {
            inputs[r] = ElementData.decode(type, ElementData.encode(type, ElementData.random(type, n, seed(r, type, n, salt))));
        }
        double[] expected = ElementData.reduce(inputs, op, type);
        double tol = ElementData.tolerance(type, world, maxAbs(expected) + 1);
        for (int r = 0; r < world; r++) {
            double[] got = results.get(r).get(key)[0];
            assertClose(expected, got, tol, "allReduce " + key + " rank " + r);
            assertArrayEquals(results.get(0).get(key)[0], got, 0.0, "allReduce " + key + ": rank " + r + " differs from rank 0");
            int off = (int) Shards.offset(n, world, r);
            double[] shard = results.get(r).get(key)[1];
            assertClose(java.util.Arrays.copyOfRange(expected, off, off + shard.length), shard, tol,
                    "reduceScatter " + key + " rank " + r);
        }
    }

    static List<Arguments> largeClusters() {
        List<Arguments> a = new ArrayList<>();
        for (String transport : new String[] {"in-process", "netty+cma", "netty+ring"}) {
            for (int world : new int[] {2, 3}) {
                a.add(Arguments.of(transport, world));
            }
        }
        return a;
    }

    private static double maxAbs(double[] v) {
        double m = 0;
        for (double x : v) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }

    private static void assertClose(double[] expected, double[] got, double tol, String what) {
        assertEquals(expected.length, got.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Math.abs(expected[i] - got[i]) > tol) {
                throw new AssertionError(what + ": element " + i + " is " + got[i] + ", expected " + expected[i] + " ± " + tol);
            }
        }
    }
}
