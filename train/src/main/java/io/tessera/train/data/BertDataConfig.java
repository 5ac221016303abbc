package io.tessera.train.data;

/**
 * How BERT pretraining examples are built and masked ({@link BertPretrainingDataset}).
 *
 * <table>
 *   <caption>Fields and defaults</caption>
 *   <tr><th>field</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>maxSeqLength</td><td>128</td><td>T, {@code [CLS]} and {@code [SEP]}s included</td></tr>
 *   <tr><td>objective</td><td>NEXT_SENTENCE_PREDICTION</td><td>sentence pairs with NSP (BERT) or SOP (ALBERT), or
 *       FULL_SENTENCES without it (RoBERTa)</td></tr>
 *   <tr><td>shortSeqProbability</td><td>0.1</td><td>NSP only: chance that a pair targets a random
 *       length in {@code [2, T-3]} instead of {@code T-3}, as BERT</td></tr>
 *   <tr><td>maskProbability</td><td>0.15</td><td>share of non-special tokens chosen for prediction</td></tr>
 *   <tr><td>maskTokenProbability</td><td>0.8</td><td>of the chosen, share replaced by {@code [MASK]}</td></tr>
 *   <tr><td>randomTokenProbability</td><td>0.1</td><td>of the chosen, share replaced by a random
 *       non-special token; the rest (0.1) stay unchanged</td></tr>
 *   <tr><td>wholeWordMasking</td><td>false</td><td>choose whole words (a piece and its {@code ##}
 *       continuations) instead of single pieces</td></tr>
 *   <tr><td>seed</td><td>0</td><td>fixes construction, per-epoch order and masking</td></tr>
 * </table>
 *
 * <p>Thread safety: immutable, safe to share between threads.
 */
public final class BertDataConfig {

    /** The sentence-level objective. */
    public enum Objective {
        /**
         * BERT: {@code [CLS] A [SEP] B [SEP]}, where B follows A in the document (label 0)
         * or, half of the time, comes from another document (label 1).
         */
        NEXT_SENTENCE_PREDICTION,
        /**
         * ALBERT: {@code [CLS] A [SEP] B [SEP]} of two consecutive segments of one document,
         * swapped half of the time (label 1 when swapped, 0 in the original order).
         */
        SENTENCE_ORDER_PREDICTION,
        /**
         * RoBERTa's FULL-SENTENCES: {@code [CLS] s1 s2 ... [SEP]}, contiguous sentences packed
         * up to the length, crossing documents with an extra {@code [SEP]} between them; no
         * next-sentence label (-100), all token types 0.
         */
        FULL_SENTENCES
    }

    private final int maxSeqLength;
    private final Objective objective;
    private final double shortSeqProbability;
    private final double maskProbability;
    private final double maskTokenProbability;
    private final double randomTokenProbability;
    private final boolean wholeWordMasking;
    private final long seed;

    private BertDataConfig(Builder b) {
        this.maxSeqLength = b.maxSeqLength;
        this.objective = b.objective;
        this.shortSeqProbability = b.shortSeqProbability;
        this.maskProbability = b.maskProbability;
        this.maskTokenProbability = b.maskTokenProbability;
        this.randomTokenProbability = b.randomTokenProbability;
        this.wholeWordMasking = b.wholeWordMasking;
        this.seed = b.seed;
    }

    /**
     * Starts a builder with BERT's defaults.
     *
     * @return a builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** @return T, the padded length of every example */
    public int maxSeqLength() {
        return maxSeqLength;
    }

    /** @return the sentence-level objective */
    public Objective objective() {
        return objective;
    }

    /** @return the chance of a shorter target length (NSP only) */
    public double shortSeqProbability() {
        return shortSeqProbability;
    }

    /** @return the share of non-special tokens chosen for prediction */
    public double maskProbability() {
        return maskProbability;
    }

    /** @return the share of chosen tokens replaced by {@code [MASK]} */
    public double maskTokenProbability() {
        return maskTokenProbability;
    }

    /** @return the share of chosen tokens replaced by a random token */
    public double randomTokenProbability() {
        return randomTokenProbability;
    }

    /** @return whether whole words are masked together */
    public boolean wholeWordMasking() {
        return wholeWordMasking;
    }

    /** @return the seed */
    public long seed() {
        return seed;
    }

    @Override
    public String toString() {
        return "BertDataConfig[maxSeqLength=" + maxSeqLength + ", objective=" + objective
                + ", shortSeqProbability=" + shortSeqProbability + ", maskProbability=" + maskProbability
                + ", maskTokenProbability=" + maskTokenProbability + ", randomTokenProbability="
                + randomTokenProbability + ", wholeWordMasking=" + wholeWordMasking + ", seed=" + seed + "]";
    }

    /**
     * Builder of {@link BertDataConfig}; every field is optional ({@code opt*}).
     *
     * <p>Thread safety: not thread-safe; build on one thread.
     */
    public static final class Builder {

        private int maxSeqLength = 128;
        private Objective objective = Objective.NEXT_SENTENCE_PREDICTION;
        private double shortSeqProbability = 0.1;
        private double maskProbability = 0.15;
        private double maskTokenProbability = 0.8;
        private double randomTokenProbability = 0.1;
        private boolean wholeWordMasking;
        private long seed;

        private Builder() {
        }

        /**
         * @param maxSeqLength T, at least 5 ({@code [CLS] a [SEP] b [SEP]})
         * @return this builder
         */
        public Builder optMaxSeqLength(int maxSeqLength) {
            this.maxSeqLength = maxSeqLength;
            return this;
        }

        /**
         * @param objective NSP sentence pairs or RoBERTa's full sentences
         * @return this builder
         */
        public Builder optObjective(Objective objective) {
            this.objective = objective;
            return this;
        }

        /**
         * @param shortSeqProbability in [0, 1]
         * @return this builder
         */
        public Builder optShortSeqProbability(double shortSeqProbability) {
            this.shortSeqProbability = shortSeqProbability;
            return this;
        }

        /**
         * @param maskProbability in (0, 1]
         * @return this builder
         */
        public Builder optMaskProbability(double maskProbability) {
            this.maskProbability = maskProbability;
            return this;
        }

        /**
         * Sets the split of chosen tokens: {@code maskToken} to {@code [MASK]},
         * {@code randomToken} to a random token, the rest unchanged.
         *
         * @param maskToken   in [0, 1]
         * @param randomToken in [0, 1], with {@code maskToken + randomToken <= 1}
         * @return this builder
         */
        public Builder optReplacement(double maskToken, double randomToken) {
            this.maskTokenProbability = maskToken;
            this.randomTokenProbability = randomToken;
            return this;
        }

        /**
         * @param wholeWordMasking {@code true} to mask all pieces of a word together
         * @return this builder
         */
        public Builder optWholeWordMasking(boolean wholeWordMasking) {
            this.wholeWordMasking = wholeWordMasking;
            return this;
        }

        /**
         * @param seed any value
         * @return this builder
         */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Validates and builds.
         *
         * @return the config
         * @throws IllegalArgumentException naming the field, its value and the rule
         */
        public BertDataConfig build() {
            if (maxSeqLength < 5) {
                throw new IllegalArgumentException("maxSeqLength is " + maxSeqLength + "; it must be at least 5"
                        + " ([CLS] a [SEP] b [SEP]): use 128 (BERT's phase 1) or 512 (phase 2)");
            }
            if (objective == null) {
                throw new IllegalArgumentException("objective is null; pass NEXT_SENTENCE_PREDICTION or FULL_SENTENCES");
            }
            checkProbability("shortSeqProbability", shortSeqProbability, "0.1 (BERT's value)");
            checkProbability("maskProbability", maskProbability, "0.15 (BERT's value)");
            if (maskProbability == 0) {
                throw new IllegalArgumentException("maskProbability is 0; nothing would be predicted: use 0.15");
            }
            checkProbability("maskTokenProbability", maskTokenProbability, "0.8 (BERT's value)");
            checkProbability("randomTokenProbability", randomTokenProbability, "0.1 (BERT's value)");
            if (maskTokenProbability + randomTokenProbability > 1 + 1e-12) {
                throw new IllegalArgumentException("maskTokenProbability " + maskTokenProbability
                        + " + randomTokenProbability " + randomTokenProbability + " exceeds 1; the rest is the"
                        + " share left unchanged: use 0.8 and 0.1 (BERT's split)");
            }
            return new BertDataConfig(this);
        }

        private static void checkProbability(String name, double value, String fix) {
            if (!(value >= 0 && value <= 1)) {
                throw new IllegalArgumentException(name + " is " + value + "; it must lie in [0, 1]: use " + fix);
            }
        }
    }
}
