package io.tessera.benchmarks.collectives;

import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.comm.CommOptions;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.ElementType;
import io.tessera.parallel.comm.ReduceOp;
import io.tessera.parallel.comm.Shards;
import io.tessera.parallel.launch.DistributedJob;
import io.tessera.parallel.launch.JobEnvironment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One rank of {@link CollectivesBenchmark}, started as its own JVM with torchrun's variables. Rank 0
 * prints one line per measurement: {@code RESULT <op> <bytes> <seconds per op>}, the slowest rank's
 * mean over the timed iterations. Each op first runs 3000 times on 64 KiB, and each size at least
 * {@code warmup} times and on at least 512 MiB in all, so that the JIT has compiled the path being
 * measured (Gloo is native code).
 *
 * <p>Arguments: {@code ops sizes iterations warmup chunkBytes ioThreads sameHost}, lists
 * comma-separated, {@code sameHost} one of {@link CommOptions.SameHost}.
 *
 * <p>Thread safety: a program; not for use as a library.
 */
public final class CollectivesWorker {

    /** Small operations run first so that the measured code is compiled, as it is in a long training run. */
    private static final int JIT_WARMUP = 3000;
    /** Each size is warmed up with at least this much data, so that its chunked path is compiled too. */
    private static final long WARMUP_BYTES = 512L << 20;

    private CollectivesWorker() {}

    /**
     * @param args ops, sizes in bytes, iterations, warm-up iterations, chunk bytes, I/O threads, how
     *     same-host data moves
     */
    public static void main(String[] args) {
        List<CollectiveOp> ops = new ArrayList<>();
        for (String s : args[0].split(",")) {
            ops.add(CollectiveOp.parse(s));
        }
        List<Long> sizes = new ArrayList<>();
        for (String s : args[1].split(",")) {
            sizes.add(Long.parseLong(s));
        }
        int iterations = Integer.parseInt(args[2]);
        int warmup = Integer.parseInt(args[3]);
        CommOptions options = CommOptions.defaults().withTimeout(Duration.ofSeconds(120)).withChunkBytes(Integer.parseInt(args[4]))
                .withSameHost(CommOptions.SameHost.valueOf(args[6]));
        int ioThreads = Integer.parseInt(args[5]);
        JobEnvironment env = JobEnvironment.fromEnv();
        try (DistributedJob job = DistributedJob.join(env,
                ParallelLayout.of(env.worldSize(), 1, 1), options, env.rank() == 0, ioThreads)) {
            Communicator c = job.context().world();
            long max = sizes.stream().mapToLong(Long::longValue).max().orElse(0);
            ByteBuffer data = filled(max);
            ByteBuffer out = filled(max);
            for (CollectiveOp op : ops) {
                // bring the JIT to steady state (Gloo is native code) before anything is timed
                for (int i = 0; i < JIT_WARMUP; i++) {
                    once(c, op, data, out, Math.min(max, 64 * 1024));
                }
                for (long bytes : sizes) {
                    long rounds = Math.max(warmup, WARMUP_BYTES / bytes);
                    for (long i = 0; i < rounds; i++) {
                        once(c, op, data, out, bytes);
                    }
                    c.barrier();
                    long t0 = System.nanoTime();
                    for (int i = 0; i < iterations; i++) {
                        once(c, op, data, out, bytes);
                    }
                    long elapsed = System.nanoTime() - t0;
                    ByteBuffer slowest = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder()).putLong(0, elapsed);
                    c.allReduce(slowest, ElementType.INT64, ReduceOp.MAX);
                    if (c.rank() == 0) {
                        System.out.println("RESULT " + op.label() + " " + bytes + " " + slowest.getLong(0) / 1e9 / iterations);
                        System.out.flush();
                    }
                }
            }
        }
    }

    private static void once(Communicator c, CollectiveOp op, ByteBuffer data, ByteBuffer out, long bytes) {
        int n = (int) (bytes / 4);
        ByteBuffer full = data.duplicate().position(0).limit(n * 4);
        long shard = Shards.length(n, c.size(), c.rank()) * 4;
        switch (op) {
            case ALLREDUCE:
                c.allReduce(full, ElementType.FLOAT32, ReduceOp.SUM);
                break;
            case REDUCESCATTER:
                c.reduceScatter(full, out.duplicate().position(0).limit((int) shard), ElementType.FLOAT32, ReduceOp.SUM);
                break;
            case ALLGATHER:
                c.allGather(out.duplicate().position(0).limit((int) shard), full, ElementType.FLOAT32);
                break;
            default:
                c.broadcast(full, 0);
                break;
        }
    }

    private static ByteBuffer filled(long bytes) {
        ByteBuffer b = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder());
        while (b.remaining() >= 4) {
            b.putFloat(1e-3f);
        }
        return b.clear();
    }
}
