package io.tessera.parallel.comm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.TensorMemory;
import java.nio.ByteBuffer;
import java.time.Duration;

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
 * <p>Flat buffers: every operation also has an overload over direct {@link ByteBuffer}s, which covers
 * the elements between the buffer's position and limit (both left unchanged) and carries its
 * {@link ElementType} explicitly. This is the only way to communicate bfloat16, which DJL 0.35.1 cannot
 * hold in an NDArray. The default implementations wrap the buffers as NDArrays (no copy) and run the
 * blocking NDArray form; the Tessera backends override them with native buffer paths that also carry
 * bfloat16.
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

    /** @return the time any one operation may wait for its peers before failing */
    default Duration timeout() {
        return Duration.ofSeconds(300);
    }

    /**
     * Reduces a flat buffer over the group in place.
     *
     * @param buffer direct buffer, overwritten between position and limit
     * @param type element type
     * @param op the reduction
     * @return a handle
     */
    default Work allReduceAsync(ByteBuffer buffer, ElementType type, ReduceOp op) {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            allReduce(wrap(m, buffer, type, "allReduce"), op);
        }
        return Work.DONE;
    }

    /**
     * Reduce-scatter over flat buffers.
     *
     * @param input {@code n} elements, not modified
     * @param output {@code Shards.length(n, size(), rank())} elements
     * @param type element type
     * @param op the reduction
     * @return a handle
     */
    default Work reduceScatterAsync(ByteBuffer input, ByteBuffer output, ElementType type, ReduceOp op) {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            reduceScatter(wrap(m, input, type, "reduceScatter"), wrap(m, output, type, "reduceScatter"), op);
        }
        return Work.DONE;
    }

    /**
     * All-gather over flat buffers.
     *
     * @param input this rank's shard
     * @param output all elements, rank order
     * @param type element type
     * @return a handle
     */
    default Work allGatherAsync(ByteBuffer input, ByteBuffer output, ElementType type) {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            allGather(wrap(m, input, type, "allGather"), wrap(m, output, type, "allGather"));
        }
        return Work.DONE;
    }

    /**
     * Broadcast of a flat buffer; the bytes are copied whatever their type.
     *
     * @param buffer source on root, destination elsewhere
     * @param root group rank of the source
     * @return a handle
     */
    default Work broadcastAsync(ByteBuffer buffer, int root) {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            broadcast(wrapBytes(m, buffer), root);
        }
        return Work.DONE;
    }

    /**
     * Sends the bytes of a flat buffer to one peer.
     *
     * @param buffer the data between position and limit
     * @param peer group rank of the receiver
     */
    default void send(ByteBuffer buffer, int peer) {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            send(wrapBytes(m, buffer), peer);
        }
    }

    /**
     * Receives bytes from one peer into a flat buffer.
     *
     * @param buffer destination, exactly as many bytes as were sent
     * @param peer group rank of the sender
     */
    default void recv(ByteBuffer buffer, int peer) {
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu())) {
            recv(wrapBytes(m, buffer), peer);
        }
    }

    /**
     * Blocking all-reduce of a flat buffer.
     *
     * @param buffer direct buffer, overwritten
     * @param type element type
     * @param op the reduction
     */
    default void allReduce(ByteBuffer buffer, ElementType type, ReduceOp op) {
        allReduceAsync(buffer, type, op).await();
    }

    /**
     * Blocking reduce-scatter of flat buffers.
     *
     * @param input all elements
     * @param output this rank's shard
     * @param type element type
     * @param op the reduction
     */
    default void reduceScatter(ByteBuffer input, ByteBuffer output, ElementType type, ReduceOp op) {
        reduceScatterAsync(input, output, type, op).await();
    }

    /**
     * Blocking all-gather of flat buffers.
     *
     * @param input this rank's shard
     * @param output all elements
     * @param type element type
     */
    default void allGather(ByteBuffer input, ByteBuffer output, ElementType type) {
        allGatherAsync(input, output, type).await();
    }

    /**
     * Blocking broadcast of a flat buffer.
     *
     * @param buffer the buffer
     * @param root source rank
     */
    default void broadcast(ByteBuffer buffer, int root) {
        broadcastAsync(buffer, root).await();
    }

    /** Releases connections and threads; pending operations fail. */
    @Override
    void close();

    private static NDArray wrap(NDManager manager, ByteBuffer buffer, ElementType type, String op) {
        if (buffer.remaining() % type.bytes() != 0) {
            throw new IllegalArgumentException(op + ": buffer of " + buffer.remaining() + " bytes is not a whole number of "
                    + type + " elements (" + type.bytes() + " bytes each)");
        }
        return TensorMemory.wrap(manager, buffer, new Shape(buffer.remaining() / type.bytes()), type.toDataType(op));
    }

    private static NDArray wrapBytes(NDManager manager, ByteBuffer buffer) {
        return TensorMemory.wrap(manager, buffer, new Shape(buffer.remaining()), DataType.UINT8);
    }
}
