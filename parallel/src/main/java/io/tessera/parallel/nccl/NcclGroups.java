package io.tessera.parallel.nccl;

import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.comm.CommOptions;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.RingCommunicator;
import io.tessera.parallel.comm.SingleRankCommunicator;
import io.tessera.parallel.launch.DistributedJob;
import io.tessera.parallel.launch.JobEnvironment;
import io.tessera.parallel.store.Store;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * This rank's NCCL communicators for the groups {@link ParallelLayout} assigns it (world, tensor-,
 * data-parallel), as a {@link ParallelContext}: the GPU counterpart of the Netty groups that
 * {@link io.tessera.parallel.launch.DistributedJob} builds. Every rank forms the groups in the same
 * order (world, tensor, data), each through the job's store; a group of one rank is a
 * {@link SingleRankCommunicator}.
 *
 * <pre>{@code
 * try (DistributedJob job = DistributedJob.join(env, layout, options);       // store + CPU groups
 *      NcclGroups gpu = NcclGroups.join(job.store(), layout, env.rank(), env.localRank(), options)) {
 *     train(gpu.context());                                                   // collectives on CUDA tensors
 * }
 * }</pre>
 *
 * <p>Thread safety: immutable after {@link #join}; close once.
 */
public final class NcclGroups implements AutoCloseable {

    private final ParallelContext context;
    private final List<NcclCommunicator> owned;

    private NcclGroups(ParallelContext context, List<NcclCommunicator> owned) {
        this.context = context;
        this.owned = owned;
    }

    /**
     * Forms this rank's groups.
     *
     * @param store the job's rendezvous store
     * @param layout the degrees
     * @param rank this rank's world rank
     * @param device its CUDA device (usually the local rank)
     * @param options the timeout of forming each group and of every collective
     * @return the groups; close them to free the communicators
     * @throws IllegalStateException if NCCL is not available here (see {@link NcclSupport})
     */
    public static NcclGroups join(Store store, ParallelLayout layout, int rank, int device, CommOptions options) {
        Objects.requireNonNull(layout, "layout");
        if (rank < 0 || rank >= layout.world()) {
            throw new IllegalArgumentException("nccl groups: rank " + rank + " is outside the world of " + layout.world());
        }
        int[] all = new int[layout.world()];
        Arrays.setAll(all, i -> i);
        List<NcclCommunicator> owned = new ArrayList<>();
        try {
            Communicator world = member(store, "world", all, rank, device, options, owned);
            Communicator tensor = member(store, "tp", ParallelLayout.groupOf(layout.tensorGroups(), rank), rank, device,
                    options, owned);
            Communicator data = member(store, "dp", ParallelLayout.groupOf(layout.dataGroups(), rank), rank, device, options,
                    owned);
            return new NcclGroups(new ParallelContext(rank, layout, world, tensor, data), List.copyOf(owned));
        } catch (RuntimeException e) {
            owned.forEach(c -> c.abort("rank " + rank + " failed to form its NCCL groups: " + e.getMessage()));
            owned.forEach(NcclCommunicator::close);
            throw e;
        }
    }

    /**
     * Joins the job described by {@code env} (store and CPU groups, as {@link DistributedJob#run}), forms
     * this rank's NCCL groups on {@code device}, runs {@code body} on them, and leaves: on success by
     * closing both, on failure by aborting both (so that the other ranks fail at once rather than at their
     * timeout) and rethrowing.
     *
     * @param env where this process sits
     * @param layout the degrees
     * @param device this rank's CUDA device index (usually {@code env.localRank()})
     * @param options timeout of joining, of forming each group and of every collective
     * @param body the rank's work, on NCCL communicators
     */
    public static void run(JobEnvironment env, ParallelLayout layout, int device, CommOptions options,
            Consumer<ParallelContext> body) {
        DistributedJob job = DistributedJob.join(env, layout, options);
        NcclGroups gpu;
        try {
            gpu = join(job.store(), layout, env.rank(), device, options);
        } catch (RuntimeException | Error e) {
            job.abort("rank " + env.rank() + " could not form its NCCL groups on cuda:" + device + ": " + e.getMessage());
            throw e;
        }
        try {
            body.accept(gpu.context());
        } catch (RuntimeException | Error e) {
            String reason = "rank " + env.rank() + " failed: " + e;
            gpu.owned.forEach(c -> c.abort(reason));
            gpu.close();
            job.abort(reason);
            throw e;
        }
        gpu.close();
        job.close();
    }

    /**
     * Joins the job with the groups a device needs and runs {@code body}: NCCL groups ({@link #run}) on
     * a CUDA device, the Netty backend's ({@link DistributedJob#run}) on the CPU.
     *
     * @param device this rank's device
     * @param env where this process sits
     * @param layout the degrees
     * @param options timeout of joining, of forming each group and of every collective
     * @param body the rank's work
     */
    public static void runOn(ai.djl.Device device, JobEnvironment env, ParallelLayout layout, CommOptions options,
            Consumer<ParallelContext> body) {
        if (device.isGpu()) {
            run(env, layout, device.getDeviceId(), options, body);
        } else {
            DistributedJob.run(env, layout, options, body);
        }
    }

    /** @return the context whose communicators run on this rank's device */
    public ParallelContext context() {
        return context;
    }

    @Override
    public void close() {
        owned.forEach(NcclCommunicator::close);
    }

    private static Communicator member(Store store, String kind, int[] ranks, int rank, int device, CommOptions options,
            List<NcclCommunicator> owned) {
        String name = RingCommunicator.groupName(kind, ranks);
        if (ranks.length == 1) {
            return new SingleRankCommunicator(name);
        }
        int index = 0;
        while (ranks[index] != rank) {
            index++;
        }
        NcclCommunicator c = NcclCommunicator.create(store, name, index, ranks.length, device, options);
        owned.add(c);
        return c;
    }
}
