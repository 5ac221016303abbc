package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.nn.Partition;
import io.tessera.parallel.comm.Communicator;

/**
 * Whole tensors from the slices that a tensor-parallel group holds, for checkpoint export and for tests
 * that compare a run at degree {@code p} with the degree-1 run.
 *
 * <p>Thread safety: stateless; every rank of the group must call {@link #gather} for the same tensors
 * in the same order.
 */
public final class PartitionedTensors {

    private PartitionedTensors() {}

    /**
     * All-gathers the slices of a split tensor into the full tensor (a copy of {@code local} when the
     * partition is replicated).
     *
     * @param group the tensor-parallel group that holds the slices
     * @param manager owner of the result
     * @param local this rank's slice (a parameter's value or gradient)
     * @param partition how the full tensor is split; its degree must be the group's size
     * @return the full tensor, the same on every rank
     */
    public static NDArray gather(Communicator group, NDManager manager, NDArray local, Partition partition) {
        if (partition.replicated()) {
            return RegionTensors.contiguousCopy(manager, local);
        }
        if (partition.degree() != group.size() || partition.rank() != group.rank()) {
            throw new IllegalArgumentException("gather of a tensor split " + partition + " over group " + group.name()
                    + " of size " + group.size() + " (this rank " + group.rank()
                    + "): the partition must come from the same tensor-parallel group");
        }
        int p = group.size();
        int dim = partition.dim();
        Shape s = local.getShape();
        long before = 1;
        for (int d = 0; d < dim; d++) {
            before *= s.get(d);
        }
        long n = s.get(dim);
        long after = s.size() / before / n;
        NDArray send = RegionTensors.contiguousCopy(manager, local).reshape(s.size());
        NDArray recv = manager.zeros(new Shape(s.size() * p), local.getDataType());
        group.allGather(send, recv);
        long[] full = s.getShape().clone();
        full[dim] = n * p;
        // recv is [p, before, n, after] in rank order; the full tensor is [before, p·n, after].
        return recv.reshape(p, before, n, after).transpose(1, 0, 2, 3).reshape(new Shape(full));
    }
}
