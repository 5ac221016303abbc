package io.tessera.parallel.launch;

import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.comm.CommOptions;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.ElementData;
import io.tessera.parallel.comm.ElementType;
import io.tessera.parallel.comm.ReduceOp;
import io.tessera.parallel.comm.Shards;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;

/**
 * One rank of a multi-process test, started by {@link MultiProcessTest} with torchrun's variables.
 * {@code collectives}: checks every collective against the reference and prints {@code OK};
 * {@code loop}: prints {@code READY} after the first all-reduce and keeps all-reducing until failure.
 */
public final class ProcessWorker {

    private ProcessWorker() {}

    public static void main(String[] args) {
        String scenario = args[0];
        int timeoutSeconds = Integer.parseInt(args[1]);
        JobEnvironment env = JobEnvironment.fromEnv();
        CommOptions options = CommOptions.defaults().withTimeout(Duration.ofSeconds(timeoutSeconds)).withChunkBytes(4096);
        DistributedJob.run(env, ParallelLayout.of(env.worldSize(), 1, 1), options, ctx -> {
            Communicator c = ctx.world();
            if (scenario.equals("collectives")) {
                collectives(c);
                System.out.println("rank " + ctx.rank() + " OK");
            } else {
                ByteBuffer b = ElementData.encode(ElementType.FLOAT32, new double[1 << 16]);
                c.allReduce(b, ElementType.FLOAT32, ReduceOp.SUM);
                System.out.println("READY");
                System.out.flush();
                while (true) {
                    c.allReduce(b, ElementType.FLOAT32, ReduceOp.SUM);
                }
            }
        });
    }

    private static void collectives(Communicator c) {
        int world = c.size();
        int r = c.rank();
        int n = 10_007;
        for (ElementType type : ElementType.values()) {
            for (ReduceOp op : ReduceOp.values()) {
                double[][] inputs = new double[world][];
                for (int p = 0; p < world; p++) {
                    inputs[p] = ElementData.decode(type, ElementData.encode(type, ElementData.random(type, n, p * 100 + type.ordinal())));
                }
                ByteBuffer b = ElementData.encode(type, inputs[r]);
                c.allReduce(b, type, op);
                double[] expected = ElementData.reduce(inputs, op, type);
                check(expected, ElementData.decode(type, b), ElementData.tolerance(type, world, 1 + max(expected)),
                        "allReduce " + type + " " + op);
                ByteBuffer shard = ByteBuffer.allocateDirect((int) Shards.length(n, world, r) * type.bytes());
                c.reduceScatter(ElementData.encode(type, inputs[r]), shard, type, op);
                int off = (int) Shards.offset(n, world, r);
                check(Arrays.copyOfRange(expected, off, off + shard.capacity() / type.bytes()), ElementData.decode(type, shard),
                        ElementData.tolerance(type, world, 1 + max(expected)), "reduceScatter " + type + " " + op);
            }
            double[] full = ElementData.random(type, n, 7 + type.ordinal());
            ByteBuffer mine = ElementData.encode(type, Arrays.copyOfRange(full, (int) Shards.offset(n, world, r),
                    (int) (Shards.offset(n, world, r) + Shards.length(n, world, r))));
            ByteBuffer gathered = ByteBuffer.allocateDirect(n * type.bytes());
            c.allGather(mine, gathered, type);
            check(full, ElementData.decode(type, gathered), 0, "allGather " + type);
            ByteBuffer b = ElementData.encode(type, r == world - 1 ? full : new double[n]);
            c.broadcast(b, world - 1);
            check(full, ElementData.decode(type, b), 0, "broadcast " + type);
            ByteBuffer in = ByteBuffer.allocateDirect(n * type.bytes());
            c.send(ElementData.encode(type, ElementData.random(type, n, 50 + r)), (r + 1) % world);
            c.recv(in, (r + world - 1) % world);
            check(ElementData.random(type, n, 50 + (r + world - 1) % world), ElementData.decode(type, in), 0, "send/recv " + type);
        }
        c.barrier();
    }

    private static double max(double[] v) {
        return Arrays.stream(v).map(Math::abs).max().orElse(0);
    }

    private static void check(double[] expected, double[] got, double tol, String what) {
        for (int i = 0; i < expected.length; i++) {
            if (Math.abs(expected[i] - got[i]) > tol) {
                throw new AssertionError(what + ": element " + i + " is " + got[i] + ", expected " + expected[i]);
            }
        }
    }
}
