package io.tessera.train.finetune;

import io.tessera.train.data.Example;
import io.tessera.train.data.ExampleDataset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A fine-tuning task's sentences, tokenised once and padded to {@code maxLength}, as an
 * {@link ExampleDataset} for the same {@link io.tessera.train.data.DistributedBatchSampler} that
 * pretraining uses (so the order, the split over data-parallel ranks and micro-batches, and resuming
 * work alike; trim each micro-batch with {@link io.tessera.train.data.Batch#trimmed()}).
 *
 * <pre>
 *   sequence classification   inputIds = [CLS] sentence [SEP] (cut to maxLength)   labels all -100   sequenceLabel = class id
 *   token classification      inputIds, labels = {@link TokenAlignment} of the words and tags          sequenceLabel = -100
 * </pre>
 *
 * <p>Examples are fixed: an epoch only changes their order. Token types are 0.
 *
 * <p>Thread safety: immutable.
 */
public final class TaskDataset implements ExampleDataset {

    private final List<Example> examples;
    private final List<TokenAlignment> alignments;
    private final int maxLength;
    private final long seed;

    private TaskDataset(List<Example> examples, List<TokenAlignment> alignments, int maxLength, long seed) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("a fine-tuning dataset needs at least one sentence");
        }
        this.examples = List.copyOf(examples);
        this.alignments = alignments == null ? null : List.copyOf(alignments);
        this.maxLength = maxLength;
        this.seed = seed;
    }

    /**
     * Sentences with class labels.
     *
     * @param rows the sentences; labels may be null only when {@code labels} is null (prediction)
     * @param labels the task's labels, or null for unlabelled input
     * @param tokenizer the model's tokenizer
     * @param maxLength the longest sequence, special tokens included
     * @param seed the shuffle seed
     * @return the dataset
     * @throws IllegalArgumentException naming the row of a label the task does not know
     */
    public static TaskDataset classification(List<LabeledSentence> rows, LabelSet labels, TaskTokenizer tokenizer, int maxLength,
            long seed) {
        checkLength(maxLength, tokenizer);
        int pad = tokenizer.padId();
        int[] suffix = tokenizer.suffix();
        List<Example> out = new ArrayList<>(rows.size());
        for (LabeledSentence r : rows) {
            int[] ids = tokenizer.encode(r.text());
            if (ids.length > maxLength) {
                ids = Arrays.copyOf(ids, maxLength);
                System.arraycopy(suffix, 0, ids, maxLength - suffix.length, suffix.length);
            }
            int label = labels == null || r.label() == null ? TokenAlignment.IGNORE : labels.id(r.label(), "line " + r.line());
            out.add(padded(ids, null, label, maxLength, pad));
        }
        return new TaskDataset(out, null, maxLength, seed);
    }

    /**
     * Sentences with a tag per word.
     *
     * @param sentences the sentences; untagged ones (prediction) get no labels
     * @param labels the task's tags
     * @param tokenizer the model's tokenizer
     * @param maxLength the longest sequence, special tokens included
     * @param seed the shuffle seed
     * @return the dataset
     * @throws IllegalArgumentException naming the sentence of a tag the task does not know
     */
    public static TaskDataset tokens(List<TaggedSentence> sentences, LabelSet labels, TaskTokenizer tokenizer, int maxLength,
            long seed) {
        Objects.requireNonNull(labels, "labels");
        checkLength(maxLength, tokenizer);
        List<Example> out = new ArrayList<>(sentences.size());
        List<TokenAlignment> aligned = new ArrayList<>(sentences.size());
        for (TaggedSentence s : sentences) {
            int[] tags = null;
            if (s.tagged()) {
                tags = new int[s.tags().size()];
                for (int w = 0; w < tags.length; w++) {
                    tags[w] = labels.id(s.tags().get(w), "line " + (s.line() + w));
                }
            }
            TokenAlignment a = TokenAlignment.of(s.words(), tags, tokenizer, maxLength);
            aligned.add(a);
            out.add(padded(a.inputIds(), a.labels(), TokenAlignment.IGNORE, maxLength, tokenizer.padId()));
        }
        return new TaskDataset(out, aligned, maxLength, seed);
    }

    /** @return the alignment of sentence {@code index} (token classification only) */
    public TokenAlignment alignment(int index) {
        if (alignments == null) {
            throw new IllegalStateException("a sequence-classification dataset has no word alignments");
        }
        return alignments.get(index);
    }

    @Override
    public int size() {
        return examples.size();
    }

    @Override
    public int seqLength() {
        return maxLength;
    }

    @Override
    public long seed() {
        return seed;
    }

    @Override
    public Example example(int epoch, int index) {
        return examples.get(Objects.checkIndex(index, examples.size()));
    }

    private static void checkLength(int maxLength, TaskTokenizer tokenizer) {
        int special = tokenizer.prefix().length + tokenizer.suffix().length;
        if (maxLength <= special) {
            throw new IllegalArgumentException("--max-length " + maxLength + " leaves no room for a token beside the " + special
                    + " special tokens; use at least " + (special + 1));
        }
    }

    private static Example padded(int[] ids, int[] labels, int sequenceLabel, int maxLength, int pad) {
        int[] input = new int[maxLength];
        Arrays.fill(input, pad);
        System.arraycopy(ids, 0, input, 0, ids.length);
        int[] mask = new int[maxLength];
        Arrays.fill(mask, 0, ids.length, 1);
        int[] lab = new int[maxLength];
        Arrays.fill(lab, TokenAlignment.IGNORE);
        if (labels != null) {
            System.arraycopy(labels, 0, lab, 0, labels.length);
        }
        return new Example(input, new int[maxLength], mask, lab, sequenceLabel);
    }
}
