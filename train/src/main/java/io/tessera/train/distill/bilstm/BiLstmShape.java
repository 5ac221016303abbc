package io.tessera.train.distill.bilstm;

import io.tessera.train.finetune.LabelSet;
import java.util.Objects;

/**
 * The sizes of a {@link BiLstmClassifier} and its labels: what {@code config.json} of an exported
 * student records.
 *
 * <p>Thread safety: immutable.
 *
 * @param vocabSize V, words in the vocabulary (special words included)
 * @param embeddingDim E, the width of a word embedding
 * @param hiddenSize H, the LSTM state of one direction (the pooled vector is 2H wide)
 * @param mlpSize M, the hidden layer of the classifier MLP
 * @param labels the K class labels, in id order
 */
public record BiLstmShape(int vocabSize, int embeddingDim, int hiddenSize, int mlpSize, LabelSet labels) {

    public BiLstmShape {
        positive(vocabSize, "vocabSize");
        positive(embeddingDim, "embeddingDim");
        positive(hiddenSize, "hiddenSize");
        positive(mlpSize, "mlpSize");
        Objects.requireNonNull(labels, "labels");
        if (vocabSize <= WordVocabulary.SPECIAL.size()) {
            throw new IllegalArgumentException("vocabSize = " + vocabSize + ": the vocabulary needs words beyond "
                    + WordVocabulary.SPECIAL);
        }
    }

    private static void positive(int v, String name) {
        if (v < 1) {
            throw new IllegalArgumentException(name + " = " + v + ": must be at least 1");
        }
    }

    /** @return K, the number of labels */
    public int numLabels() {
        return labels.size();
    }

    /**
     * The parameter count, in closed form:
     * <pre>
     *   V·E  +  2 · (4H·E + 4H·H + 2·4H)  +  (2H·M + M)  +  (M·K + K)
     *   embedding    LSTM, both directions    MLP hidden      classifier
     * </pre>
     *
     * @return the number of trainable scalars
     */
    public long parameterCount() {
        long h4 = 4L * hiddenSize;
        return (long) vocabSize * embeddingDim + 2 * (h4 * embeddingDim + h4 * hiddenSize + 2 * h4)
                + (2L * hiddenSize * mlpSize + mlpSize) + ((long) mlpSize * numLabels() + numLabels());
    }
}
