package io.tessera.train.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Serves one data-parallel rank its micro-batches, so that every layout of the same global
 * batch trains on the same examples, masked the same.
 *
 * <pre>
 *   epoch e:   order_e = a permutation of [0, N) drawn from random(seed, SHUFFLE, e)
 *              (identity with optShuffle(false)); steps per epoch S = ⌊N / G⌋, the last
 *              N mod G examples of order_e are skipped in that epoch
 *   step s:    global batch = order_e[s·G, (s+1)·G)                       G = globalBatchSize
 *   rank r:    its slice     = global batch [r·G/dp, (r+1)·G/dp)           dp = dataParallelSize
 *   micro m:   its rows      = slice [m·b, (m+1)·b),  m in [0, G/(b·dp))   b = microBatchSize
 *   example i of epoch e is dataset.example(e, i): masked from (seed, e, i) only
 *
 *   global batch:  | rank 0: m0 m1 … | rank 1: m0 m1 … | … | rank dp-1: … |
 * </pre>
 *
 * <p>Concatenating the micro-batches of rank 0, then rank 1, …, each in micro-batch order,
 * gives {@link #globalBatch(int, int)} for any dp and b that divide G. The data position is
 * (epoch, step): store it in a checkpoint and ask for the same position after a restart to
 * get the same data, bit for bit.
 *
 * <pre>{@code
 * DistributedBatchSampler sampler = DistributedBatchSampler.builder().setDataset(dataset)
 *         .setGlobalBatchSize(256).setMicroBatchSize(8).optDataParallelSize(dp).optDataParallelRank(r).build();
 * Batch batch = sampler.microBatch(epoch, step, m);   // m in [0, sampler.microBatchesPerStep())
 * }</pre>
 *
 * <p>Thread safety: immutable apart from a cache of the latest epoch's permutation, which is
 * published safely; safe to call from several threads. Each rank normally builds its own.
 */
public final class DistributedBatchSampler {

    /**
     * Where a run stands in its data: the epoch and the step within it.
     *
     * <p>Thread safety: immutable.
     *
     * @param epoch from 0
     * @param step  in {@code [0, stepsPerEpoch())}
     */
    public record Position(int epoch, int step) {
    }

    private record Permutation(int epoch, int[] order) {
    }

    private final ExampleDataset dataset;
    private final int globalBatchSize;
    private final int microBatchSize;
    private final int dataParallelSize;
    private final int dataParallelRank;
    private final boolean shuffle;
    private volatile Permutation cached;

    private DistributedBatchSampler(Builder b) {
        this.dataset = b.dataset;
        this.globalBatchSize = b.globalBatchSize;
        this.microBatchSize = b.microBatchSize;
        this.dataParallelSize = b.dataParallelSize;
        this.dataParallelRank = b.dataParallelRank;
        this.shuffle = b.shuffle;
    }

    /**
     * Starts a builder.
     *
     * @return a builder; dataset, global and micro-batch sizes are required
     */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the dataset the examples come from */
    public ExampleDataset dataset() {
        return dataset;
    }

    /** @return G, the examples of one optimiser step over all ranks */
    public int globalBatchSize() {
        return globalBatchSize;
    }

    /** @return b, the examples of one forward/backward pass on one rank */
    public int microBatchSize() {
        return microBatchSize;
    }

    /** @return dp, the number of data-parallel ranks */
    public int dataParallelSize() {
        return dataParallelSize;
    }

    /** @return r, this sampler's data-parallel rank */
    public int dataParallelRank() {
        return dataParallelRank;
    }

    /** @return G / (b · dp), the gradient-accumulation steps per optimiser step */
    public int microBatchesPerStep() {
        return globalBatchSize / (microBatchSize * dataParallelSize);
    }

    /** @return S = ⌊N / G⌋, the optimiser steps of one epoch */
    public int stepsPerEpoch() {
        return dataset.size() / globalBatchSize;
    }

    /**
     * Maps a count of completed optimiser steps to a data position.
     *
     * @param globalStep steps taken since the start of training, from 0
     * @return (globalStep / S, globalStep mod S)
     */
    public Position position(long globalStep) {
        if (globalStep < 0) {
            throw new IllegalArgumentException("globalStep is " + globalStep + "; steps count from 0");
        }
        long s = stepsPerEpoch();
        return new Position(Math.toIntExact(globalStep / s), (int) (globalStep % s));
    }

    /**
     * Returns the dataset indices of this rank's micro-batch {@code m} at (epoch, step).
     *
     * @param epoch      from 0
     * @param step       in {@code [0, stepsPerEpoch())}
     * @param microBatch in {@code [0, microBatchesPerStep())}
     * @return b indices, in batch-row order
     */
    public int[] exampleIndices(int epoch, int step, int microBatch) {
        checkPosition(epoch, step);
        if (microBatch < 0 || microBatch >= microBatchesPerStep()) {
            throw new IllegalArgumentException("microBatch is " + microBatch + "; it must lie in [0, "
                    + microBatchesPerStep() + ") (globalBatchSize " + globalBatchSize + " / (microBatchSize "
                    + microBatchSize + " × dataParallelSize " + dataParallelSize + "))");
        }
        int[] order = order(epoch);
        int from = step * globalBatchSize + dataParallelRank * (globalBatchSize / dataParallelSize)
                + microBatch * microBatchSize;
        int[] indices = new int[microBatchSize];
        System.arraycopy(order, from, indices, 0, microBatchSize);
        return indices;
    }

    /**
     * Returns this rank's micro-batch {@code m} at (epoch, step).
     *
     * @param epoch      from 0
     * @param step       in {@code [0, stepsPerEpoch())}
     * @param microBatch in {@code [0, microBatchesPerStep())}
     * @return a batch of b rows
     */
    public Batch microBatch(int epoch, int step, int microBatch) {
        return collect(epoch, exampleIndices(epoch, step, microBatch));
    }

    /**
     * Returns this rank's micro-batch {@code m} at a position.
     *
     * @param position   (epoch, step)
     * @param microBatch in {@code [0, microBatchesPerStep())}
     * @return a batch of b rows
     */
    public Batch microBatch(Position position, int microBatch) {
        return microBatch(position.epoch(), position.step(), microBatch);
    }

    /**
     * Returns the whole global batch at (epoch, step), all ranks' rows in rank order: what
     * the concatenation of every rank's micro-batches equals.
     *
     * @param epoch from 0
     * @param step  in {@code [0, stepsPerEpoch())}
     * @return a batch of G rows
     */
    public Batch globalBatch(int epoch, int step) {
        checkPosition(epoch, step);
        int[] indices = new int[globalBatchSize];
        System.arraycopy(order(epoch), step * globalBatchSize, indices, 0, globalBatchSize);
        return collect(epoch, indices);
    }

    /**
     * Returns the example order of an epoch.
     *
     * @param epoch from 0
     * @return a new array, a permutation of {@code [0, N)}
     */
    public int[] permutation(int epoch) {
        checkPosition(epoch, 0);
        return order(epoch).clone();
    }

    private Batch collect(int epoch, int[] indices) {
        List<Example> examples = new ArrayList<>(indices.length);
        for (int index : indices) {
            examples.add(dataset.example(epoch, index));
        }
        return Batch.of(examples);
    }

    private int[] order(int epoch) {
        Permutation p = cached;
        if (p != null && p.epoch == epoch) {
            return p.order;
        }
        int n = dataset.size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        if (shuffle) {
            SplittableRandom random = Seeds.random(dataset.seed(), Seeds.SHUFFLE, epoch);
            for (int i = n - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        cached = new Permutation(epoch, order);
        return order;
    }

    private void checkPosition(int epoch, int step) {
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch is " + epoch + "; epochs count from 0");
        }
        if (step < 0 || step >= stepsPerEpoch()) {
            throw new IllegalArgumentException("step is " + step + "; it must lie in [0, " + stepsPerEpoch()
                    + ") (" + dataset.size() + " examples / globalBatchSize " + globalBatchSize
                    + "): move to the next epoch with position(globalStep)");
        }
    }

    @Override
    public String toString() {
        return "DistributedBatchSampler[G=" + globalBatchSize + ", b=" + microBatchSize + ", dp="
                + dataParallelSize + ", rank=" + dataParallelRank + ", steps/epoch=" + stepsPerEpoch() + "]";
    }

    /**
     * Builder of {@link DistributedBatchSampler}; {@code set*} is required, {@code opt*} optional.
     *
     * <p>Thread safety: not thread-safe; build on one thread.
     */
    public static final class Builder {

        private ExampleDataset dataset;
        private int globalBatchSize = -1;
        private int microBatchSize = -1;
        private int dataParallelSize = 1;
        private int dataParallelRank;
        private boolean shuffle = true;

        private Builder() {
        }

        /**
         * @param dataset the examples
         * @return this builder
         */
        public Builder setDataset(ExampleDataset dataset) {
            this.dataset = dataset;
            return this;
        }

        /**
         * @param globalBatchSize G, examples per optimiser step over all ranks
         * @return this builder
         */
        public Builder setGlobalBatchSize(int globalBatchSize) {
            this.globalBatchSize = globalBatchSize;
            return this;
        }

        /**
         * @param microBatchSize b, examples per forward/backward pass on one rank
         * @return this builder
         */
        public Builder setMicroBatchSize(int microBatchSize) {
            this.microBatchSize = microBatchSize;
            return this;
        }

        /**
         * @param dataParallelSize dp, default 1
         * @return this builder
         */
        public Builder optDataParallelSize(int dataParallelSize) {
            this.dataParallelSize = dataParallelSize;
            return this;
        }

        /**
         * @param dataParallelRank r in [0, dp), default 0
         * @return this builder
         */
        public Builder optDataParallelRank(int dataParallelRank) {
            this.dataParallelRank = dataParallelRank;
            return this;
        }

        /**
         * @param shuffle {@code false} to serve examples in dataset order (evaluation); default {@code true}
         * @return this builder
         */
        public Builder optShuffle(boolean shuffle) {
            this.shuffle = shuffle;
            return this;
        }

        /**
         * Validates and builds.
         *
         * @return the sampler
         * @throws IllegalArgumentException naming the values and the rule, with a fix
         */
        public DistributedBatchSampler build() {
            if (dataset == null) {
                throw new IllegalArgumentException("dataset is not set; call setDataset with a"
                        + " BertPretrainingDataset or Gpt2Dataset");
            }
            if (globalBatchSize < 1 || microBatchSize < 1 || dataParallelSize < 1) {
                throw new IllegalArgumentException("globalBatchSize " + globalBatchSize + ", microBatchSize "
                        + microBatchSize + " and dataParallelSize " + dataParallelSize + " must all be at least 1:"
                        + " call setGlobalBatchSize and setMicroBatchSize (e.g. 256 and 8)");
            }
            long perStep = (long) microBatchSize * dataParallelSize;
            if (globalBatchSize % perStep != 0) {
                long lower = globalBatchSize / perStep * perStep;
                long upper = lower + perStep;
                throw new IllegalArgumentException("globalBatchSize " + globalBatchSize
                        + " is not a multiple of microBatchSize " + microBatchSize + " × dataParallelSize "
                        + dataParallelSize + " = " + perStep + ": every rank must run the same whole number of"
                        + " micro-batches per step. Use globalBatchSize " + (lower > 0 ? lower + " or " : "") + upper
                        + ", or a microBatchSize such that microBatchSize × dataParallelSize divides "
                        + globalBatchSize);
            }
            if (dataParallelRank < 0 || dataParallelRank >= dataParallelSize) {
                throw new IllegalArgumentException("dataParallelRank is " + dataParallelRank + "; it must lie in [0, "
                        + dataParallelSize + ") for dataParallelSize " + dataParallelSize);
            }
            if (globalBatchSize > dataset.size()) {
                throw new IllegalArgumentException("globalBatchSize " + globalBatchSize + " exceeds the "
                        + dataset.size() + " examples of the dataset, so an epoch would have no step: lower"
                        + " globalBatchSize, shorten the sequences, or use a larger corpus");
            }
            return new DistributedBatchSampler(this);
        }
    }
}
