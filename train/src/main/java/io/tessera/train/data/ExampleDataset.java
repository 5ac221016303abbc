package io.tessera.train.data;

/**
 * A fixed, indexed set of training examples (pretraining sequences, fine-tuning sentences) whose randomness is a pure function of a
 * seed: example {@code i} of epoch {@code e} depends on ({@link #seed()}, e, i) only, never
 * on which examples were asked for before or on which thread asks. That is what lets
 * {@link DistributedBatchSampler} give every data-parallel layout the same global batch,
 * and a resumed run the same data.
 *
 * <p>Thread safety: implementations are immutable and safe to call from several threads
 * (ranks run as threads in tests).
 */
public interface ExampleDataset {

    /**
     * Returns the number of examples.
     *
     * @return N, indices run over {@code [0, N)}
     */
    int size();

    /**
     * Returns the sequence length every example is padded to.
     *
     * @return T
     */
    int seqLength();

    /**
     * Returns the seed that fixes construction, per-epoch order and masking.
     *
     * @return the seed
     */
    long seed();

    /**
     * Returns example {@code index} as seen in {@code epoch} (with that epoch's dynamic
     * masking, where the dataset masks).
     *
     * @param epoch the epoch, from 0
     * @param index the example index in {@code [0, size())}
     * @return a new example of length {@link #seqLength()}
     */
    Example example(int epoch, int index);
}
