package io.tessera.benchmarks.scaling;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import io.tessera.core.Tensors;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.ElementType;
import io.tessera.parallel.comm.ReduceOp;
import io.tessera.parallel.comm.Shards;
import io.tessera.parallel.comm.Work;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * A measurement stand-in for a data-parallel group: it has the group's rank, size and name, and every
 * collective returns an already completed {@link Work} after touching only this rank's own data, so a
 * training step runs with the same ranks, tensors and threads as with the real group but without its
 * communication. The step time without communication is the baseline of {@link ExposedCommunication}.
 *
 * <pre>
 *   allReduce       tensor left as it is (this rank's values, not the reduction)
 *   reduceScatter   output ← shard rank() of input (Shards), unreduced
 *   allGather       shard rank() of output ← input; the other shards keep whatever they held
 *   broadcast       tensor left as it is (the root's values reach no one)
 *   barrier         returns at once
 *   send / recv     refused (UnsupportedOperationException): no data could arrive
 * </pre>
 *
 * <p>What it does not do: it moves no bytes between ranks, so the ranks' models drift apart and the
 * results are meaningless for training; it does not imitate the real backend's memory traffic, its
 * threads or its waiting for the slowest rank. Only the shapes of the outputs are those of the real
 * operations. It needs no peers and owns no resources; {@link #close()} does nothing (the group it
 * stands in for stays owned by whoever built it).
 *
 * <p>Thread safety: stateless; safe from any thread.
 */
public final class NoOpCommunicator implements Communicator {

    private final int rank;
    private final int size;
    private final String name;

    /**
     * @param rank this rank's index in the group it stands in for
     * @param size that group's size
     * @param name that group's name, for messages
     * @throws IllegalArgumentException unless {@code 0 <= rank < size}
     */
    public NoOpCommunicator(int rank, int size, String name) {
        if (size < 1 || rank < 0 || rank >= size) {
            throw new IllegalArgumentException("no-op communicator: rank " + rank + " in a group of size " + size
                    + "; need 0 <= rank < size");
        }
        this.rank = rank;
        this.size = size;
        this.name = Objects.requireNonNull(name, "name") + " (no-op)";
    }

    /**
     * @param group the real group
     * @return a stand-in with its rank, size and name; {@code group} is neither used nor closed by it
     */
    public static NoOpCommunicator standingInFor(Communicator group) {
        return new NoOpCommunicator(group.rank(), group.size(), group.name());
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

    @Override
    public Work allReduceAsync(NDArray tensor, ReduceOp op) {
        return Work.DONE;
    }

    @Override
    public Work reduceScatterAsync(NDArray input, NDArray output, ReduceOp op) {
        long n = input.size();
        requireShard("reduceScatter", n, output.size());
        try (NDManager scope = input.getManager().newSubManager()) {
            NDArray flat = input.reshape(-1);
            flat.attach(scope);
            NDArray mine = flat.get(shard(n));
            mine.attach(scope);
            Tensors.copyInto(output, mine.reshape(output.getShape()));
        }
        return Work.DONE;
    }

    @Override
    public Work allGatherAsync(NDArray input, NDArray output) {
        long n = output.size();
        requireShard("allGather", n, input.size());
        try (NDManager scope = output.getManager().newSubManager()) {
            NDArray flat = output.reshape(-1);
            flat.attach(scope);
            NDArray mine = flat.get(shard(n));
            mine.attach(scope);
            Tensors.copyInto(mine, input.reshape(mine.getShape()));
        }
        return Work.DONE;
    }

    @Override
    public Work broadcastAsync(NDArray tensor, int root) {
        requireMember("broadcast root", root);
        return Work.DONE;
    }

    @Override
    public void send(NDArray tensor, int peer) {
        throw refused("send to", peer);
    }

    @Override
    public void recv(NDArray tensor, int peer) {
        throw refused("recv from", peer);
    }

    @Override
    public void barrier() {}

    @Override
    public Work allReduceAsync(ByteBuffer buffer, ElementType type, ReduceOp op) {
        return Work.DONE;
    }

    @Override
    public Work reduceScatterAsync(ByteBuffer input, ByteBuffer output, ElementType type, ReduceOp op) {
        long n = elements(input, type, "reduceScatter");
        requireShard("reduceScatter", n, elements(output, type, "reduceScatter"));
        ByteBuffer mine = input.duplicate();
        mine.position(input.position() + (int) (Shards.offset(n, size, rank) * type.bytes()));
        mine.limit(mine.position() + output.remaining());
        output.duplicate().put(mine);
        return Work.DONE;
    }

    @Override
    public Work allGatherAsync(ByteBuffer input, ByteBuffer output, ElementType type) {
        long n = elements(output, type, "allGather");
        requireShard("allGather", n, elements(input, type, "allGather"));
        ByteBuffer mine = output.duplicate();
        mine.position(output.position() + (int) (Shards.offset(n, size, rank) * type.bytes()));
        mine.put(input.duplicate());
        return Work.DONE;
    }

    @Override
    public Work broadcastAsync(ByteBuffer buffer, int root) {
        requireMember("broadcast root", root);
        return Work.DONE;
    }

    @Override
    public void send(ByteBuffer buffer, int peer) {
        throw refused("send to", peer);
    }

    @Override
    public void recv(ByteBuffer buffer, int peer) {
        throw refused("recv from", peer);
    }

    @Override
    public void close() {}

    private NDIndex shard(long n) {
        long from = Shards.offset(n, size, rank);
        return new NDIndex().addSliceDim(from, from + Shards.length(n, size, rank));
    }

    private void requireShard(String op, long n, long shardElements) {
        long expected = Shards.length(n, size, rank);
        if (shardElements != expected) {
            throw new IllegalArgumentException(op + " on " + name + ", rank " + rank + ": the shard has " + shardElements
                    + " elements but shard " + rank + " of " + n + " over " + size + " ranks has " + expected
                    + "; hint: size the shard with Shards.length(n, size, rank)");
        }
    }

    private void requireMember(String what, int r) {
        if (r < 0 || r >= size) {
            throw new IllegalArgumentException(what + " " + r + " is outside " + name + " of size " + size);
        }
    }

    private static long elements(ByteBuffer buffer, ElementType type, String op) {
        if (buffer.remaining() % type.bytes() != 0) {
            throw new IllegalArgumentException(op + ": buffer of " + buffer.remaining() + " bytes is not a whole number of "
                    + type + " elements (" + type.bytes() + " bytes each)");
        }
        return buffer.remaining() / type.bytes();
    }

    private UnsupportedOperationException refused(String what, int peer) {
        return new UnsupportedOperationException(what + " rank " + peer + " on " + name + ": a no-op group carries no"
                + " point-to-point data; run with the real data-parallel group");
    }
}
