package io.tessera.parallel.comm;

import ai.djl.ndarray.NDArray;

/**
 * Collectives over one group of ranks. All operations work in place on contiguous tensors (CPU for the
 * Netty and in-process backends, CUDA for NCCL) and come in an asynchronous form returning a
 * {@link Work}; the blocking form awaits it. Every member of the group must call the same collectives
 * in the same order with tensors of the same shape and type.
 *
 * <p>Shards of reduce-scatter and all-gather: a tensor of {@code n} elements is cut into
 * {@code size()} contiguous shards as {@link Shards} defines (equal when {@code size()} divides n, the
 * first {@code n % size()} shards one element longer otherwise).
 *
 * <p>Every operation fails with a {@link CommunicationException} naming the operation, the group and
 * the missing rank when a peer does not take part within the communicator's timeout.
 *
 * <p>Thread safety: implementations are thread-safe, but collectives on one communicator are issued by
 * one thread in program order (as with NCCL and Gloo).
 */
public interface Communicator extends AutoCloseable {

    /** @return this rank's index within the group */
    int rank();

    /** @return number of ranks in the group */
    int size();

    /** @return the group's name for messages, e.g. {@code tp[0,1]} */
    String name();

    /**
     * Reduces {@code tensor} over the group; every rank ends with the result in {@code tensor}.
     *
     * @param tensor the tensor, overwritten
     * @param op the reduction
     * @return a handle
     */
    Work allReduceAsync(NDArray tensor, ReduceOp op);

    /**
     * Reduces {@code input} over the group and leaves shard {@code rank()} of the result in
     * {@code output}.
     *
     * @param input {@code n} elements, not modified
     * @param output {@code Shards.length(n, size(), rank())} elements
     * @param op the reduction
     * @return a handle
     */
    Work reduceScatterAsync(NDArray input, NDArray output, ReduceOp op);

    /**
     * Gathers every rank's {@code input} into {@code output}, rank order.
     *
     * @param input this rank's shard, {@code Shards.length(n, size(), rank())} elements
     * @param output {@code n} elements
     * @return a handle
     */
    Work allGatherAsync(NDArray input, NDArray output);

    /**
     * Copies {@code tensor} from {@code root} to every rank.
     *
     * @param tensor source on root, destination elsewhere
     * @param root group rank of the source
     * @return a handle
     */
    Work broadcastAsync(NDArray tensor, int root);

    /**
     * Sends a tensor to one peer (matched by a {@link #recv} there).
     *
     * @param tensor the data
     * @param peer group rank of the receiver
     */
    void send(NDArray tensor, int peer);

    /**
     * Receives a tensor from one peer into {@code tensor}.
     *
     * @param tensor destination of the right shape and type
     * @param peer group rank of the sender
     */
    void recv(NDArray tensor, int peer);

    /** Blocks until every rank of the group has reached the barrier. */
    void barrier();

    /**
     * Blocking all-reduce.
     *
     * @param tensor the tensor, overwritten
     * @param op the reduction
     */
    default void allReduce(NDArray tensor, ReduceOp op) {
        allReduceAsync(tensor, op).await();
    }

    /**
     * Blocking reduce-scatter.
     *
     * @param input all elements
     * @param output this rank's shard
     * @param op the reduction
     */
    default void reduceScatter(NDArray input, NDArray output, ReduceOp op) {
        reduceScatterAsync(input, output, op).await();
    }

    /**
     * Blocking all-gather.
     *
     * @param input this rank's shard
     * @param output all elements
     */
    default void allGather(NDArray input, NDArray output) {
        allGatherAsync(input, output).await();
    }

    /**
     * Blocking broadcast.
     *
     * @param tensor the tensor
     * @param root source rank
     */
    default void broadcast(NDArray tensor, int root) {
        broadcastAsync(tensor, root).await();
    }

    /** Releases connections and threads; pending operations fail. */
    @Override
    void close();
}
