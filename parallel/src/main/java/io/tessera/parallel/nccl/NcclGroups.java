package io.tessera.parallel.nccl;

import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.comm.CommOptions;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.GroupName;
import io.tessera.parallel.comm.SingleRankCommunicator;
import io.tessera.parallel.launch.JobEnvironment;
import io.tessera.parallel.launch.DistributedJob;
import io.tessera.parallel.launch.Liveness;
import io.tessera.parallel.launch.Rendezvous;
import io.tessera.parallel.store.Store;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This rank's NCCL communicators for the groups {@link ParallelLayout} assigns it (world, tensor-,
 * data-parallel), as a {@link ParallelContext}: the GPU counterpart of the Netty groups that
 * {@link io.tessera.parallel.launch.DistributedJob} builds. Every rank forms the groups in the same
 * order (world, tensor, data), each through the job's store; a group of one rank is a
 * {@link SingleRankCommunicator}.
 *
 * <pre>{@code
 * try (Rendezvous job = Rendezvous.join(env, env.rank() == 0, options);      // store only, no CPU groups
 *      NcclGroups gpu = NcclGroups.join(job.store(), layout, env.rank(), env.localRank(), options)) {
 *     train(gpu.context());                                                   // collectives on CUDA tensors
 * }
 * }</pre>
 *
 * <p>Thread safety: immutable after {@link #join}; close once.
 */
public final class NcclGroups implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(NcclGroups.class);

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
            Communicator pipeline = member(store, "pp", ParallelLayout.groupOf(layout.pipelineGroups(), rank), rank, device,
                    options, owned);
            return new NcclGroups(new ParallelContext(rank, layout, world, tensor, data, pipeline), List.copyOf(owned));
        } catch (RuntimeException e) {
            owned.forEach(c -> c.abort("rank " + rank + " failed to form its NCCL groups: " + e.getMessage()));
            owned.forEach(NcclCommunicator::close);
            throw e;
        }
    }

    /**
     * Joins the job described by {@code env} (its store and heartbeat, as a {@link Rendezvous}: no Netty
     * communicator is built), forms this rank's NCCL groups on {@code device}, runs {@code body} on them,
     * and leaves: on success by closing both, on failure (or when the heartbeat finds a silent rank) by
     * aborting the communicators (so that the other ranks fail at once rather than at their timeout) and
     * rethrowing.
     *
     * @param env where this process sits
     * @param layout the degrees; its world must equal the environment's
     * @param device this rank's CUDA device index (usually {@code env.localRank()})
     * @param options timeout of joining, of forming each group and of every collective
     * @param body the rank's work, on NCCL communicators
     */
    public static void run(JobEnvironment env, ParallelLayout layout, int device, CommOptions options,
            Consumer<ParallelContext> body) {
        Objects.requireNonNull(layout, "layout");
        if (env.worldSize() != layout.world()) {
            throw new IllegalArgumentException("rank " + env.rank() + ": the " + env.source() + " says the world has "
                    + env.worldSize() + " ranks but the parallel layout " + layout + " has " + layout.world()
                    + "; hint: launch as many processes as tensor × pipeline × data");
        }
        Rendezvous rendezvous = Rendezvous.join(env, env.rank() == 0, options);
        NcclGroups gpu;
        try {
            gpu = join(rendezvous.store(), layout, env.rank(), device, options);
        } catch (RuntimeException | Error e) {
            rendezvous.leave();
            throw e;
        }
        try {
            rendezvous.watch(Liveness.fromEnv(), message -> {
                LOG.error(message);
                gpu.abort(message);
            });
            body.accept(gpu.context());
        } catch (RuntimeException | Error e) {
            gpu.abort("rank " + env.rank() + " failed: " + e);
            gpu.close();
            rendezvous.leave();
            throw e;
        }
        gpu.close();
        rendezvous.close();
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

    /**
     * Aborts every communicator: their pending and later operations fail with {@code reason}.
     *
     * @param reason why, for the messages
     */
    public void abort(String reason) {
        owned.forEach(c -> c.abort(reason));
    }

    @Override
    public void close() {
        owned.forEach(NcclCommunicator::close);
    }

    private static Communicator member(Store store, String kind, int[] ranks, int rank, int device, CommOptions options,
            List<NcclCommunicator> owned) {
        String name = GroupName.of(kind, ranks);
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
