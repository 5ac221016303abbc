package io.tessera.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.Objects;

/**
 * The tensors of one batch of B sequences of T tokens, with Hugging Face's meanings and conventions.
 *
 * <ul>
 *   <li>{@code inputIds [B, T]}: token ids in {@code [0, V)}.
 *   <li>{@code tokenTypeIds [B, T]}: BERT segment ids; null means all zeros. GPT-2 ignores them.
 *   <li>{@code attentionMask [B, T]}: 1 for tokens, 0 for padding; null means no padding.
 *   <li>{@code labels [B, T]}: BERT masked-LM targets, or GPT-2 targets equal to {@code inputIds} (the
 *       model shifts them); {@code -100} where no loss applies; null for no loss.
 *   <li>{@code nextSentenceLabels [B]}: BERT's next-sentence targets (0 = continuation, 1 = random),
 *       {@code -100} to ignore; null for no next-sentence loss.
 *   <li>{@code sequenceLabels [B]}: a sequence classifier's targets (Hugging Face's {@code labels} of
 *       {@code …ForSequenceClassification}): int64 classes in {@code [0, K)}, -100 to ignore; or floats
 *       for regression; null for no loss. A token classifier reads its per-token classes from
 *       {@code labels}.
 * </ul>
 *
 * <p>The arrays stay owned by the caller; models read them and never close them.
 *
 * <p>Thread safety: immutable record; the arrays must not change while a step reads them.
 *
 * @param inputIds token ids
 * @param tokenTypeIds segment ids, or null
 * @param attentionMask 0/1 padding mask, or null
 * @param labels per-token targets, or null
 * @param nextSentenceLabels per-sequence targets, or null
 * @param sequenceLabels per-sequence classifier targets, or null
 */
public record TokenBatch(NDArray inputIds, NDArray tokenTypeIds, NDArray attentionMask, NDArray labels,
                         NDArray nextSentenceLabels, NDArray sequenceLabels) {

    /**
     * Checks shapes.
     *
     * @throws IllegalArgumentException naming the field whose shape does not match {@code [B, T]}
     */
    public TokenBatch {
        Objects.requireNonNull(inputIds, "inputIds");
        Shape s = inputIds.getShape();
        if (s.dimension() != 2) {
            throw new IllegalArgumentException("inputIds must be [B, T], got " + s);
        }
        check("tokenTypeIds", tokenTypeIds, s);
        check("attentionMask", attentionMask, s);
        check("labels", labels, s);
        check("nextSentenceLabels", nextSentenceLabels, new Shape(s.get(0)));
        check("sequenceLabels", sequenceLabels, new Shape(s.get(0)));
    }

    /**
     * A batch without sequence-classifier labels.
     *
     * @param inputIds token ids
     * @param tokenTypeIds segment ids, or null
     * @param attentionMask 0/1 padding mask, or null
     * @param labels per-token targets, or null
     * @param nextSentenceLabels per-sequence next-sentence targets, or null
     */
    public TokenBatch(NDArray inputIds, NDArray tokenTypeIds, NDArray attentionMask, NDArray labels,
                      NDArray nextSentenceLabels) {
        this(inputIds, tokenTypeIds, attentionMask, labels, nextSentenceLabels, null);
    }

    /**
     * @param sequenceLabels {@code [B]} classifier targets (int64 classes or floats), or null
     * @return this batch with those sequence labels
     */
    public TokenBatch withSequenceLabels(NDArray sequenceLabels) {
        return new TokenBatch(inputIds, tokenTypeIds, attentionMask, labels, nextSentenceLabels, sequenceLabels);
    }

    /**
     * Builds a batch from row-major {@code int} arrays (element {@code (b, t)} at {@code b·T + t}).
     *
     * @param manager owner of the tensors
     * @param batchSize B
     * @param seqLength T
     * @param inputIds B·T ids
     * @param tokenTypeIds B·T segment ids, or null
     * @param attentionMask B·T 0/1, or null
     * @param labels B·T targets, or null
     * @param nextSentenceLabels B targets, or null
     * @return the batch, int64 tensors
     */
    public static TokenBatch of(NDManager manager, int batchSize, int seqLength, int[] inputIds, int[] tokenTypeIds,
                                int[] attentionMask, int[] labels, int[] nextSentenceLabels) {
        Shape bt = new Shape(batchSize, seqLength);
        return new TokenBatch(tensor(manager, "inputIds", inputIds, bt), tensor(manager, "tokenTypeIds", tokenTypeIds, bt),
                tensor(manager, "attentionMask", attentionMask, bt), tensor(manager, "labels", labels, bt),
                tensor(manager, "nextSentenceLabels", nextSentenceLabels, new Shape(batchSize)));
    }

    /** @return B */
    public int batchSize() {
        return (int) inputIds.getShape().get(0);
    }

    /** @return T */
    public int seqLength() {
        return (int) inputIds.getShape().get(1);
    }

    private static NDArray tensor(NDManager manager, String field, int[] values, Shape shape) {
        if (values == null) {
            return null;
        }
        if (values.length != shape.size()) {
            throw new IllegalArgumentException(field + " has " + values.length + " values, expected " + shape.size()
                    + " for shape " + shape);
        }
        return manager.create(values, shape).toType(DataType.INT64, false);
    }

    private static void check(String field, NDArray a, Shape expected) {
        if (a != null && !a.getShape().equals(expected)) {
            throw new IllegalArgumentException(field + " has shape " + a.getShape() + ", expected " + expected
                    + " to match inputIds");
        }
    }
}
