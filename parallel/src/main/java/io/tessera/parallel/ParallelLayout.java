package io.tessera.parallel;

import java.util.ArrayList;
import java.util.List;

/**
 * How a world of ranks splits into tensor-, pipeline- and data-parallel groups, in Megatron-LM's
 * order: tensor-parallel ranks are contiguous (so that they share a node and its fast links), data
 * parallelism strides over them, pipeline stages stride over the whole world.
 *
 * <pre>
 *   world 8, tp 2, pp 2 (so dp 2):
 *     tensor groups   [0,1] [2,3] [4,5] [6,7]
 *     data groups     [0,2] [1,3] [4,6] [5,7]
 *     pipeline groups [0,4] [1,5] [2,6] [3,7]
 * </pre>
 *
 * @param world total ranks
 * @param tensor tensor-parallel degree
 * @param pipeline pipeline-parallel degree
 * @param data data-parallel degree, {@code world / (tensor × pipeline)}
 */
public record ParallelLayout(int world, int tensor, int pipeline, int data) {

    public ParallelLayout {
        check("world size", world);
        check("tensor-parallel degree", tensor);
        check("pipeline-parallel degree", pipeline);
        check("data-parallel degree", data);
        if ((long) tensor * pipeline * data != world) {
            throw new IllegalArgumentException("parallel layout: tensor " + tensor + " × pipeline " + pipeline + " × data "
                    + data + " = " + ((long) tensor * pipeline * data) + " but the world has " + world
                    + " ranks; choose degrees whose product is the world size");
        }
    }

    /**
     * Derives the data-parallel degree from the world and the other degrees.
     *
     * @param world total ranks
     * @param tensor tensor-parallel degree
     * @param pipeline pipeline-parallel degree
     * @return the layout
     */
    public static ParallelLayout of(int world, int tensor, int pipeline) {
        check("world size", world);
        check("tensor-parallel degree", tensor);
        check("pipeline-parallel degree", pipeline);
        if (world % ((long) tensor * pipeline) != 0) {
            throw new IllegalArgumentException("parallel layout: world size " + world + " is not divisible by tensor "
                    + tensor + " × pipeline " + pipeline + " = " + ((long) tensor * pipeline)
                    + "; choose degrees whose product divides the world size");
        }
        return new ParallelLayout(world, tensor, pipeline, world / (tensor * pipeline));
    }

    /** @return the layout of a single process */
    public static ParallelLayout single() {
        return new ParallelLayout(1, 1, 1, 1);
    }

    /** @return every tensor-parallel group, each a list of world ranks */
    public List<int[]> tensorGroups() {
        List<int[]> groups = new ArrayList<>();
        for (int g = 0; g < world / tensor; g++) {
            int[] r = new int[tensor];
            for (int i = 0; i < tensor; i++) {
                r[i] = g * tensor + i;
            }
            groups.add(r);
        }
        return groups;
    }

    /** @return every data-parallel group */
    public List<int[]> dataGroups() {
        List<int[]> groups = new ArrayList<>();
        int perStage = world / pipeline;
        for (int s = 0; s < pipeline; s++) {
            for (int j = 0; j < tensor; j++) {
                int[] r = new int[data];
                for (int k = 0; k < data; k++) {
                    r[k] = s * perStage + j + k * tensor;
                }
                groups.add(r);
            }
        }
        return groups;
    }

    /** @return every pipeline group */
    public List<int[]> pipelineGroups() {
        List<int[]> groups = new ArrayList<>();
        int perStage = world / pipeline;
        for (int i = 0; i < perStage; i++) {
            int[] r = new int[pipeline];
            for (int s = 0; s < pipeline; s++) {
                r[s] = i + s * perStage;
            }
            groups.add(r);
        }
        return groups;
    }

    /**
     * @param rank a world rank
     * @return its index within its tensor-parallel group
     */
    public int tensorRank(int rank) {
        return rank % tensor;
    }

    /**
     * @param rank a world rank
     * @return its index within its data-parallel group
     */
    public int dataRank(int rank) {
        return (rank % (world / pipeline)) / tensor;
    }

    /**
     * @param rank a world rank
     * @return its pipeline stage
     */
    public int pipelineRank(int rank) {
        return rank / (world / pipeline);
    }

    /**
     * @param groups groups from one of the group methods
     * @param rank a world rank
     * @return the group holding {@code rank}
     */
    public static int[] groupOf(List<int[]> groups, int rank) {
        for (int[] g : groups) {
            for (int r : g) {
                if (r == rank) {
                    return g;
                }
            }
        }
        throw new IllegalArgumentException("rank " + rank + " is in no group");
    }

    private static void check(String what, int value) {
        if (value < 1) {
            throw new IllegalArgumentException("parallel layout: " + what + " = " + value + " must be at least 1");
        }
    }
}
