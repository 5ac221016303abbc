package io.tessera.parallel.comm;

import ai.djl.ndarray.NDArray;
import io.tessera.core.Tensors;
import java.nio.ByteBuffer;

/**
 * The communicator of a group of one rank: every collective is a local no-op or copy, so code written
 * for N ranks runs unchanged at degree 1 without touching the network.
 *
 * <p>Thread safety: stateless.
 */
public final class SingleRankCommunicator implements Communicator {

    private final String name;

    /**
     * @param name the group's name
     */
    public SingleRankCommunicator(String name) {
        this.name = name;
    }

    @Override
    public int rank() {
        return 0;
    }

    @Override
    public int size() {
        return 1;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Work allReduceAsync(NDArray tensor, ReduceOp op) {
        return Work.DONE;
    }

    @Override
    public Work reduceScatterAsync(NDArray input, NDArray output, ReduceOp op) {
        Tensors.copyInto(output, input.reshape(output.getShape()));
        return Work.DONE;
    }

    @Override
    public Work allGatherAsync(NDArray input, NDArray output) {
        Tensors.copyInto(output, input.reshape(output.getShape()));
        return Work.DONE;
    }

    @Override
    public Work broadcastAsync(NDArray tensor, int root) {
        if (root != 0) {
            throw new IllegalArgumentException("broadcast root " + root + " outside group " + name + " of size 1");
        }
        return Work.DONE;
    }

    @Override
    public Work allReduceAsync(ByteBuffer buffer, ElementType type, ReduceOp op) {
        return Work.DONE;
    }

    @Override
    public Work reduceScatterAsync(ByteBuffer input, ByteBuffer output, ElementType type, ReduceOp op) {
        copy(input, output, "reduceScatter");
        return Work.DONE;
    }

    @Override
    public Work allGatherAsync(ByteBuffer input, ByteBuffer output, ElementType type) {
        copy(input, output, "allGather");
        return Work.DONE;
    }

    @Override
    public Work broadcastAsync(ByteBuffer buffer, int root) {
        return broadcastAsync((NDArray) null, root);
    }

    @Override
    public void send(ByteBuffer buffer, int peer) {
        send((NDArray) null, peer);
    }

    @Override
    public void recv(ByteBuffer buffer, int peer) {
        recv((NDArray) null, peer);
    }

    @Override
    public void send(NDArray tensor, int peer) {
        throw new IllegalArgumentException("send to rank " + peer + " in group " + name + " of size 1: no peer exists");
    }

    @Override
    public void recv(NDArray tensor, int peer) {
        throw new IllegalArgumentException("recv from rank " + peer + " in group " + name + " of size 1: no peer exists");
    }

    @Override
    public void barrier() {}

    @Override
    public void close() {}

    private void copy(ByteBuffer input, ByteBuffer output, String op) {
        if (input.remaining() != output.remaining()) {
            throw new IllegalArgumentException(op + " on group " + name + " of size 1: input has " + input.remaining()
                    + " bytes but output has " + output.remaining() + "; in a group of one they must be equal");
        }
        output.duplicate().put(input.duplicate());
    }
}
