package io.tessera.parallel;

import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.SingleRankCommunicator;
import java.util.Objects;

/**
 * Everything a rank knows about the parallel job: its world rank, the layout and one communicator per
 * group it belongs to. Immutable; passed through constructors (no global parallel state).
 *
 * <p>Thread safety: immutable; the communicators follow their own rules.
 *
 * @param rank world rank
 * @param layout the degrees and groups
 * @param world communicator over all ranks
 * @param tensor communicator over this rank's tensor-parallel group
 * @param data communicator over this rank's data-parallel group
 * @param pipeline communicator over this rank's pipeline group (its stages, first to last; group rank = stage)
 * @param virtualStages model chunks per pipeline rank (Megatron's interleaving; 1 without it)
 * @param sequenceParallel whether the regions outside the tensor-parallel products hold only this
 *     rank's slice of the sequence (Korthikanti et al., 2022); needs a tensor-parallel group of more than one
 */
public record ParallelContext(int rank, ParallelLayout layout, Communicator world, Communicator tensor, Communicator data,
                              Communicator pipeline, int virtualStages, boolean sequenceParallel) {

    public ParallelContext {
        Objects.requireNonNull(layout, "layout");
        Objects.requireNonNull(world, "world");
        Objects.requireNonNull(tensor, "tensor");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(pipeline, "pipeline");
        if (tensor.size() != layout.tensor() || data.size() != layout.data() || world.size() != layout.world()
                || pipeline.size() != layout.pipeline()) {
            throw new IllegalArgumentException("parallel context of rank " + rank + ": communicator sizes (world "
                    + world.size() + ", tensor " + tensor.size() + ", pipeline " + pipeline.size() + ", data " + data.size()
                    + ") disagree with layout " + layout);
        }
        if (virtualStages < 1) {
            throw new IllegalArgumentException("--virtual-stages " + virtualStages + ": must be at least 1");
        }
        if (virtualStages > 1 && layout.pipeline() == 1) {
            throw new IllegalArgumentException("--virtual-stages " + virtualStages + " needs pipeline parallelism (--pp > 1)");
        }
        if (sequenceParallel && layout.tensor() == 1) {
            throw new IllegalArgumentException("--sequence-parallel splits the sequence over the tensor-parallel group, but"
                    + " --tp is 1; use --tp 2 or more, or drop --sequence-parallel");
        }
    }

    /**
     * The context of a job's groups, one model chunk per pipeline rank, no sequence parallelism.
     *
     * @param rank world rank
     * @param layout the degrees
     * @param world communicator over all ranks
     * @param tensor communicator over the tensor-parallel group
     * @param data communicator over the data-parallel group
     * @param pipeline communicator over the pipeline group
     */
    public ParallelContext(int rank, ParallelLayout layout, Communicator world, Communicator tensor, Communicator data,
                           Communicator pipeline) {
        this(rank, layout, world, tensor, data, pipeline, 1, false);
    }

    /**
     * @param v model chunks per pipeline rank
     * @return this context with {@code v} virtual stages (interleaved schedules)
     */
    public ParallelContext withVirtualStages(int v) {
        return new ParallelContext(rank, layout, world, tensor, data, pipeline, v, sequenceParallel);
    }

    /**
     * @param on whether to split the non-matmul regions along the sequence
     * @return this context with sequence parallelism on or off
     */
    public ParallelContext withSequenceParallel(boolean on) {
        return new ParallelContext(rank, layout, world, tensor, data, pipeline, virtualStages, on);
    }

    /**
     * The context of a layout without pipeline stages: the pipeline group is this rank alone.
     *
     * @param rank world rank
     * @param layout the degrees, pipeline degree 1
     * @param world communicator over all ranks
     * @param tensor communicator over the tensor-parallel group
     * @param data communicator over the data-parallel group
     */
    public ParallelContext(int rank, ParallelLayout layout, Communicator world, Communicator tensor, Communicator data) {
        this(rank, layout, world, tensor, data, new SingleRankCommunicator("pp"));
    }

    /** @return the context of a single process: every group has one rank */
    public static ParallelContext single() {
        return new ParallelContext(0, ParallelLayout.single(), new SingleRankCommunicator("world"),
                new SingleRankCommunicator("tp"), new SingleRankCommunicator("dp"));
    }

    /** @return this rank's index in its tensor-parallel group */
    public int tensorRank() {
        return tensor.rank();
    }

    /** @return the tensor-parallel degree */
    public int tensorSize() {
        return tensor.size();
    }

    /** @return this rank's index in its data-parallel group */
    public int dataRank() {
        return data.rank();
    }

    /** @return the data-parallel degree */
    public int dataSize() {
        return data.size();
    }

    /** @return this rank's pipeline stage, 0 for the first */
    public int pipelineRank() {
        return pipeline.rank();
    }

    /** @return the pipeline-parallel degree */
    public int pipelineSize() {
        return pipeline.size();
    }
}
