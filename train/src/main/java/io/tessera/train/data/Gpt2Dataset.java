package io.tessera.train.data;

import java.util.Arrays;
import java.util.List;

/**
 * GPT-2 (causal language model) examples: the corpus as one token stream cut into
 * contiguous, non-overlapping blocks of T tokens.
 *
 * <pre>
 *   stream   = doc_0 [SEP] doc_1 [SEP] … doc_{D-1} [SEP]          (every sentence, in order)
 *   block i  = stream[i·T, (i+1)·T)        for i in [0, ⌊|stream| / T⌋); the tail is dropped
 *   example  = inputIds = block i,  labels = a copy of block i,
 *              attentionMask = 1, tokenTypeIds = 0, nextSentenceLabel = -100
 * </pre>
 *
 * <p>Label convention: Hugging Face's {@code GPT2LMHeadModel} — {@code labels == inputIds}
 * and the model shifts internally, so position t's logits are scored against
 * {@code labels[t + 1]} and each block yields T-1 predictions; no token is lost, because the
 * next block starts where this one ends. (A nanoGPT-style trainer that wants pre-shifted
 * targets would take blocks of T+1 tokens instead: that is not what this class returns.)
 *
 * <p>Vocabulary: GPT-2's byte-level BPE cannot be downloaded here, so the ids are WordPiece
 * ids of the same {@link Vocabulary} as BERT's data; {@code [SEP]} plays the role of GPT-2's
 * {@code <|endoftext|>} between documents. Nothing is masked: example {@code i} is the same
 * in every epoch, and only the order (from the seed and the epoch) changes.
 *
 * <p>Thread safety: immutable after {@link #create}; safe to call from any number of threads.
 */
public final class Gpt2Dataset implements ExampleDataset {

    private final int[] stream;
    private final int seqLength;
    private final int blocks;
    private final long seed;

    private Gpt2Dataset(int[] stream, int seqLength, long seed) {
        this.stream = stream;
        this.seqLength = seqLength;
        this.blocks = stream.length / seqLength;
        this.seed = seed;
    }

    /**
     * Tokenizes the corpus into one stream and cuts it into blocks.
     *
     * @param corpus    the training corpus
     * @param tokenizer the WordPiece tokenizer
     * @param seqLength T, at least 2
     * @param seed      the seed of the per-epoch order
     * @return the dataset
     * @throws IllegalArgumentException if T is below 2 or the stream is shorter than one block
     */
    public static Gpt2Dataset create(Corpus corpus, WordPieceTokenizer tokenizer, int seqLength, long seed) {
        if (seqLength < 2) {
            throw new IllegalArgumentException("seqLength is " + seqLength + "; a causal language model needs at"
                    + " least 2 tokens to predict one: use 1024 (GPT-2's context) or 128 for small runs");
        }
        List<List<int[]>> documents = BertPretrainingDataset.tokenize(corpus, tokenizer);
        IntList stream = new IntList(1 << 16);
        int sep = tokenizer.vocabulary().sepId();
        for (List<int[]> document : documents) {
            for (int[] sentence : document) {
                stream.addAll(sentence);
            }
            stream.add(sep);
        }
        if (stream.size() < seqLength) {
            throw new IllegalArgumentException("Corpus " + corpus.source() + " tokenizes to " + stream.size()
                    + " tokens, fewer than one block of seqLength " + seqLength
                    + "; lower seqLength or use a larger corpus");
        }
        return new Gpt2Dataset(stream.toArray(), seqLength, seed);
    }

    @Override
    public int size() {
        return blocks;
    }

    @Override
    public int seqLength() {
        return seqLength;
    }

    @Override
    public long seed() {
        return seed;
    }

    /** @return the number of tokens in the stream, the dropped tail included */
    public int tokenCount() {
        return stream.length;
    }

    /**
     * Returns block {@code index}; the same in every epoch.
     *
     * @param epoch the epoch, from 0 (does not change the block)
     * @param index the block index in {@code [0, size())}
     * @return a new example
     * @throws IllegalArgumentException if the epoch is negative or the index out of range
     */
    @Override
    public Example example(int epoch, int index) {
        if (index < 0 || index >= blocks) {
            throw new IllegalArgumentException("Example index " + index + " is outside [0, " + blocks
                    + ") of this dataset");
        }
        if (epoch < 0) {
            throw new IllegalArgumentException("epoch is " + epoch + "; epochs count from 0");
        }
        int from = index * seqLength;
        int[] input = Arrays.copyOfRange(stream, from, from + seqLength);
        int[] attention = new int[seqLength];
        Arrays.fill(attention, 1);
        return new Example(input, new int[seqLength], attention, input.clone(), Batch.IGNORE_INDEX);
    }

    @Override
    public String toString() {
        return "Gpt2Dataset[" + blocks + " blocks of " + seqLength + " tokens, " + stream.length + " tokens]";
    }
}
