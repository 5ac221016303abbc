package io.tessera.models.config;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * Shape and regularisation of a BERT, RoBERTa, DistilBERT or GPT-2 Transformer: what the model builders, the parameter
 * counter ({@link ParameterCount}) and the memory planner read.
 *
 * <p>Shape legend used in this package: V vocabulary ({@link #vocabSize()}), H hidden
 * ({@link #hiddenSize()}), L layers, A heads, I MLP inner size ({@link #intermediateSize()}), P
 * positions ({@link #maxPositions()}), T token types ({@link #typeVocabSize()}).
 *
 * <p>Build one with {@link #builder(Architecture)}, which starts from the architecture's Hugging Face
 * defaults, or take a preset from {@link Presets}. {@code build()} checks every field and reports all
 * problems at once, each naming the field, its value, the rule and a fix:
 *
 * <pre>{@code
 * TransformerConfig c = TransformerConfig.builder(Architecture.BERT)
 *         .setVocabSize(30522).setHiddenSize(768).setNumLayers(12).setNumHeads(12).setMaxPositions(512)
 *         .build();
 * c.validateFor(4);               // heads, hidden and MLP split over 4 tensor-parallel ranks
 * int rows = c.paddedVocabSize(4); // 30720: Megatron pads to a multiple of 128 × 4
 * }</pre>
 *
 * <p>Family rules: GPT-2 is always pre-LN, has no token types ({@code typeVocabSize == 0}) and ties
 * its LM head to the token embedding. BERT's masked-LM decoder is tied to the token embedding too (as
 * in Hugging Face's {@code BertForPreTraining}); {@link #preLayerNorm()} chooses between original BERT
 * (post-LN) and Megatron-BERT's reordering (pre-LN, LayerNorm at the input of each sub-layer and one
 * final LayerNorm, no embedding LayerNorm). RoBERTa and DistilBERT are post-LN encoders trained on the
 * masked-LM loss alone, their decoders tied to the token embedding; RoBERTa has one token type and
 * numbers positions from {@link #padTokenId()}, DistilBERT has no token types and LayerNorm epsilon
 * 1e-12.
 *
 * <p>One file on purpose: the fields, their builder and the cross-field validation (which reports every
 * problem of a configuration at once) are one contract.
 *
 * <p>Thread safety: immutable, safe to share between threads.
 */
public final class TransformerConfig {

    /** Megatron-LM's default for {@code --make-vocab-size-divisible-by}. */
    public static final int DEFAULT_MAKE_VOCAB_SIZE_DIVISIBLE_BY = 128;

    /** The LayerNorm epsilon Hugging Face's DistilBERT fixes in code (no {@code config.json} key). */
    public static final double DISTILBERT_LAYER_NORM_EPS = 1e-12;

    private final Architecture architecture;
    private final int vocabSize;
    private final int hiddenSize;
    private final int numLayers;
    private final int numHeads;
    private final int intermediateSize;
    private final int maxPositions;
    private final int typeVocabSize;
    private final double layerNormEps;
    private final Activation hiddenAct;
    private final double hiddenDropout;
    private final double attentionDropout;
    private final double initializerRange;
    private final boolean preLayerNorm;
    private final int makeVocabSizeDivisibleBy;
    private final int padTokenId;
    private final HeadConfig head;
    private final AlbertShape albert;

    private TransformerConfig(Builder b) {
        this.architecture = b.architecture;
        this.vocabSize = b.vocabSize;
        this.hiddenSize = b.hiddenSize;
        this.numLayers = b.numLayers;
        this.numHeads = b.numHeads;
        this.intermediateSize = b.intermediateSize != null ? b.intermediateSize : 4 * b.hiddenSize;
        this.maxPositions = b.maxPositions;
        this.typeVocabSize = b.typeVocabSize;
        this.layerNormEps = b.layerNormEps;
        this.hiddenAct = b.hiddenAct;
        this.hiddenDropout = b.hiddenDropout;
        this.attentionDropout = b.attentionDropout;
        this.initializerRange = b.initializerRange;
        this.preLayerNorm = b.preLayerNorm;
        this.makeVocabSizeDivisibleBy = b.makeVocabSizeDivisibleBy;
        this.padTokenId = b.padTokenId;
        this.head = b.head;
        this.albert = b.albert;
    }

    /**
     * A builder preset with the architecture's Hugging Face defaults: for {@link Architecture#BERT}
     * {@code typeVocabSize 2, layerNormEps 1e-12, hiddenAct gelu, preLayerNorm false}; for
     * {@link Architecture#GPT2} {@code typeVocabSize 0, layerNormEps 1e-5, hiddenAct gelu_new,
     * preLayerNorm true}; for both dropouts 0.1, initializer range 0.02, intermediate size 4·H and
     * make-vocab-size-divisible-by 128; for {@link Architecture#ROBERTA} {@code typeVocabSize 1,
     * layerNormEps 1e-5, hiddenAct gelu, padTokenId 1}, post-LN; for {@link Architecture#DISTILBERT}
     * {@code typeVocabSize 0, layerNormEps 1e-12, hiddenAct gelu}, post-LN. Vocabulary, hidden size, layers, heads and positions have no
     * default and must be set.
     *
     * @param architecture the model family
     * @return a new builder
     */
    public static Builder builder(Architecture architecture) {
        return new Builder(Objects.requireNonNull(architecture, "architecture"));
    }

    /**
     * A builder holding this configuration's values, to derive a variant.
     *
     * @return a new builder; this configuration is unchanged
     */
    public Builder toBuilder() {
        Builder b = new Builder(architecture);
        b.vocabSize = vocabSize;
        b.hiddenSize = hiddenSize;
        b.numLayers = numLayers;
        b.numHeads = numHeads;
        b.intermediateSize = intermediateSize;
        b.maxPositions = maxPositions;
        b.typeVocabSize = typeVocabSize;
        b.layerNormEps = layerNormEps;
        b.hiddenAct = hiddenAct;
        b.hiddenDropout = hiddenDropout;
        b.attentionDropout = attentionDropout;
        b.initializerRange = initializerRange;
        b.preLayerNorm = preLayerNorm;
        b.makeVocabSizeDivisibleBy = makeVocabSizeDivisibleBy;
        b.padTokenId = padTokenId;
        b.head = head;
        b.albert = albert;
        return b;
    }

    /**
     * Checks that the model splits evenly over {@code tensorParallel} Megatron-style ranks: attention
     * heads ({@code A % tp == 0}), the hidden size ({@code H % tp == 0}, the row-parallel input
     * dimension) and the MLP inner size ({@code I % tp == 0}, the column-parallel output dimension).
     * The vocabulary needs no check: it is padded with {@link #paddedVocabSize(int)}.
     *
     * <p>Pure arithmetic: call it before allocating anything.
     *
     * @param tensorParallel the tensor-parallel degree
     * @throws IllegalArgumentException naming each number that does not divide, and the degrees that
     *     would
     */
    public void validateFor(int tensorParallel) {
        if (tensorParallel < 1) {
            throw new IllegalArgumentException("tensorParallel = " + tensorParallel
                    + " must be >= 1: it is the number of ranks one layer is split over;"
                    + " use 1 for no tensor parallelism");
        }
        List<String> problems = new ArrayList<>();
        if (numHeads % tensorParallel != 0) {
            problems.add("numHeads = " + numHeads + " is not divisible by tensorParallel = " + tensorParallel
                    + ": each rank computes numHeads / tensorParallel whole attention heads");
        }
        if (hiddenSize % tensorParallel != 0) {
            problems.add("hiddenSize = " + hiddenSize + " is not divisible by tensorParallel = " + tensorParallel
                    + ": the row-parallel attention output and MLP output layers split their input of hiddenSize");
        }
        if (intermediateSize % tensorParallel != 0) {
            problems.add("intermediateSize = " + intermediateSize + " is not divisible by tensorParallel = "
                    + tensorParallel + ": the column-parallel first MLP layer splits its output of intermediateSize");
        }
        if (!problems.isEmpty()) {
            int g = gcd(gcd(numHeads, hiddenSize), intermediateSize);
            throw new IllegalArgumentException("model " + shortShape() + " cannot be split over tensorParallel = "
                    + tensorParallel + " ranks:\n  - " + String.join("\n  - ", problems)
                    + "\n  fix: choose tensorParallel from the common divisors " + divisors(g)
                    + " or change the model's shape");
        }
    }

    /**
     * The vocabulary rounded up as Megatron-LM does, so that the vocabulary-parallel embedding and
     * cross-entropy split evenly and each shard is GEMM-friendly:
     * {@code ceil(V / (m·tp)) · m·tp} with {@code m = makeVocabSizeDivisibleBy}. For GPT-2's 50257
     * tokens: 50304 at tp 1, 51200 at tp 8 (the Megatron-LM paper's figure).
     *
     * @param tensorParallel the tensor-parallel degree, at least 1
     * @return the padded vocabulary size, a multiple of {@code makeVocabSizeDivisibleBy · tensorParallel}
     * @throws IllegalArgumentException if {@code tensorParallel < 1} or the result exceeds
     *     {@link Integer#MAX_VALUE}
     */
    public int paddedVocabSize(int tensorParallel) {
        if (tensorParallel < 1) {
            throw new IllegalArgumentException("tensorParallel = " + tensorParallel
                    + " must be >= 1: it is the number of ranks the vocabulary is split over;"
                    + " use 1 for no tensor parallelism");
        }
        long multiple = (long) makeVocabSizeDivisibleBy * tensorParallel;
        long padded = (vocabSize + multiple - 1) / multiple * multiple;
        if (padded > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("padded vocabulary " + padded + " (vocabSize = " + vocabSize
                    + " rounded up to a multiple of makeVocabSizeDivisibleBy × tensorParallel = "
                    + makeVocabSizeDivisibleBy + " × " + tensorParallel + ") exceeds " + Integer.MAX_VALUE
                    + "; lower makeVocabSizeDivisibleBy or tensorParallel");
        }
        return (int) padded;
    }

    /** @return the model family */
    public Architecture architecture() {
        return architecture;
    }

    /** @return V, the tokenizer's vocabulary size (unpadded) */
    public int vocabSize() {
        return vocabSize;
    }

    /** @return H, the hidden (model) dimension */
    public int hiddenSize() {
        return hiddenSize;
    }

    /** @return L, the number of Transformer layers */
    public int numLayers() {
        return numLayers;
    }

    /** @return A, the number of attention heads */
    public int numHeads() {
        return numHeads;
    }

    /** @return H / A, the dimension of one attention head */
    public int headDim() {
        return hiddenSize / numHeads;
    }

    /** @return I, the inner size of the MLP (Hugging Face {@code intermediate_size} / {@code n_inner}) */
    public int intermediateSize() {
        return intermediateSize;
    }

    /** @return P, the number of learned position embeddings (the longest sequence) */
    public int maxPositions() {
        return maxPositions;
    }

    /**
     * The longest sequence the model reads: P, except for RoBERTa, whose first token has position
     * {@code padTokenId + 1}, so {@code P − padTokenId − 1} (512 for {@code roberta-base}).
     *
     * @return tokens per sequence at most
     */
    public int maxSequenceLength() {
        return architecture == Architecture.ROBERTA ? maxPositions - padTokenId - 1 : maxPositions;
    }

    /** @return T, the number of token types (segments); 2 for BERT, 1 for RoBERTa, 0 for GPT-2 and DistilBERT */
    public int typeVocabSize() {
        return typeVocabSize;
    }

    /** @return the epsilon added to the variance in every LayerNorm */
    public double layerNormEps() {
        return layerNormEps;
    }

    /** @return the MLP activation */
    public Activation hiddenAct() {
        return hiddenAct;
    }

    /** @return dropout probability on embeddings and on each sub-layer's output */
    public double hiddenDropout() {
        return hiddenDropout;
    }

    /** @return dropout probability on attention probabilities */
    public double attentionDropout() {
        return attentionDropout;
    }

    /** @return standard deviation of the normal initialisation of weights (0.02 in BERT and GPT-2) */
    public double initializerRange() {
        return initializerRange;
    }

    /** @return true for pre-LN (GPT-2 always, Megatron-BERT), false for original post-LN BERT */
    public boolean preLayerNorm() {
        return preLayerNorm;
    }

    /** @return the vocabulary padding multiple per tensor-parallel rank (Megatron default 128) */
    public int makeVocabSizeDivisibleBy() {
        return makeVocabSizeDivisibleBy;
    }

    /**
     * The padding token id. RoBERTa reads it to number positions (padding gets position
     * {@code padTokenId}, tokens {@code padTokenId + 1, ...}); the other families only write it to
     * {@code config.json}.
     *
     * @return Hugging Face {@code pad_token_id} (RoBERTa default 1, else 0)
     */
    public int padTokenId() {
        return padTokenId;
    }

    /**
     * Which output head the model has ({@code TransformerModel.of} builds its class).
     *
     * @return the head, {@link HeadConfig#PRETRAINING} by default
     */
    public HeadConfig head() {
        return head;
    }

    /**
     * @return E, the width of the token, position and token-type embeddings: ALBERT's
     *     {@code embedding_size}, else H
     */
    public int embeddingSize() {
        return albert != null ? albert.embeddingSize() : hiddenSize;
    }

    /**
     * @return ALBERT's factorisation and sharing ({@code embedding_size}, {@code num_hidden_groups},
     *     {@code inner_group_num}, {@code classifier_dropout_prob}), or null for the other families
     */
    public AlbertShape albert() {
        return albert;
    }

    private String shortShape() {
        return architecture + "(L=" + numLayers + ", H=" + hiddenSize + ", A=" + numHeads + ", I=" + intermediateSize
                + ")";
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof TransformerConfig)) {
            return false;
        }
        TransformerConfig c = (TransformerConfig) o;
        return architecture == c.architecture
                && vocabSize == c.vocabSize
                && hiddenSize == c.hiddenSize
                && numLayers == c.numLayers
                && numHeads == c.numHeads
                && intermediateSize == c.intermediateSize
                && maxPositions == c.maxPositions
                && typeVocabSize == c.typeVocabSize
                && Double.compare(layerNormEps, c.layerNormEps) == 0
                && hiddenAct == c.hiddenAct
                && Double.compare(hiddenDropout, c.hiddenDropout) == 0
                && Double.compare(attentionDropout, c.attentionDropout) == 0
                && Double.compare(initializerRange, c.initializerRange) == 0
                && preLayerNorm == c.preLayerNorm
                && makeVocabSizeDivisibleBy == c.makeVocabSizeDivisibleBy
                && padTokenId == c.padTokenId
                && head.equals(c.head)
                && Objects.equals(albert, c.albert);
    }

    @Override
    public int hashCode() {
        return Objects.hash(architecture, vocabSize, hiddenSize, numLayers, numHeads, intermediateSize, maxPositions,
                typeVocabSize, layerNormEps, hiddenAct, hiddenDropout, attentionDropout, initializerRange,
                preLayerNorm, makeVocabSizeDivisibleBy, padTokenId, head, albert);
    }

    @Override
    public String toString() {
        return "TransformerConfig{" + architecture
                + ", vocabSize=" + vocabSize
                + ", hiddenSize=" + hiddenSize
                + ", numLayers=" + numLayers
                + ", numHeads=" + numHeads
                + ", intermediateSize=" + intermediateSize
                + ", maxPositions=" + maxPositions
                + ", typeVocabSize=" + typeVocabSize
                + ", layerNormEps=" + layerNormEps
                + ", hiddenAct=" + hiddenAct.hfName()
                + ", hiddenDropout=" + hiddenDropout
                + ", attentionDropout=" + attentionDropout
                + ", initializerRange=" + initializerRange
                + ", preLayerNorm=" + preLayerNorm
                + ", makeVocabSizeDivisibleBy=" + makeVocabSizeDivisibleBy
                + ", padTokenId=" + padTokenId
                + (head.task() == HeadConfig.Task.PRETRAINING ? "" : ", head=" + head)
                + (albert == null ? "" : ", " + albert)
                + "}";
    }

    static int gcd(int a, int b) {
        return b == 0 ? Math.abs(a) : gcd(b, a % b);
    }

    /** Divisors of {@code n} in increasing order, for messages. */
    static List<Integer> divisors(int n) {
        List<Integer> small = new ArrayList<>();
        List<Integer> large = new ArrayList<>();
        for (int d = 1; (long) d * d <= n; d++) {
            if (n % d == 0) {
                small.add(d);
                if (d != n / d) {
                    large.add(0, n / d);
                }
            }
        }
        small.addAll(large);
        return small;
    }

    /**
     * Collects the fields of a {@link TransformerConfig}; {@code set*} methods set fields that have no
     * default, {@code opt*} methods override defaults.
     *
     * <p>Thread safety: not thread-safe; confine a builder to one thread.
     */
    public static final class Builder {

        private final Architecture architecture;
        private int vocabSize;
        private int hiddenSize;
        private int numLayers;
        private int numHeads;
        private Integer intermediateSize;
        private int maxPositions;
        private int typeVocabSize;
        private double layerNormEps;
        private Activation hiddenAct;
        private double hiddenDropout = 0.1;
        private double attentionDropout = 0.1;
        private double initializerRange = 0.02;
        private boolean preLayerNorm;
        private int makeVocabSizeDivisibleBy = DEFAULT_MAKE_VOCAB_SIZE_DIVISIBLE_BY;
        private int padTokenId;
        private HeadConfig head = HeadConfig.PRETRAINING;
        private AlbertShape albert;

        private Builder(Architecture architecture) {
            this.architecture = architecture;
            if (architecture == Architecture.BERT) {
                typeVocabSize = 2;
                layerNormEps = 1e-12;
                hiddenAct = Activation.GELU;
                preLayerNorm = false;
            } else if (architecture == Architecture.ROBERTA) {
                typeVocabSize = 1;
                layerNormEps = 1e-5;
                hiddenAct = Activation.GELU;
                padTokenId = 1;
            } else if (architecture == Architecture.DISTILBERT) {
                typeVocabSize = 0;
                layerNormEps = DISTILBERT_LAYER_NORM_EPS;
                hiddenAct = Activation.GELU;
            } else if (architecture == Architecture.ALBERT) {
                typeVocabSize = 2;
                layerNormEps = 1e-12;
                hiddenAct = Activation.GELU_NEW;
                preLayerNorm = false;
                hiddenDropout = 0;
                attentionDropout = 0;
                albert = AlbertShape.DEFAULT;
            } else {
                typeVocabSize = 0;
                layerNormEps = 1e-5;
                hiddenAct = Activation.GELU_NEW;
                preLayerNorm = true;
            }
        }

        /**
         * Sets V, the vocabulary size (required).
         *
         * @param vocabSize the tokenizer's vocabulary size, unpadded
         * @return this builder
         */
        public Builder setVocabSize(int vocabSize) {
            this.vocabSize = vocabSize;
            return this;
        }

        /**
         * Sets H, the hidden size (required).
         *
         * @param hiddenSize the model dimension, a multiple of the number of heads
         * @return this builder
         */
        public Builder setHiddenSize(int hiddenSize) {
            this.hiddenSize = hiddenSize;
            return this;
        }

        /**
         * Sets L, the number of layers (required).
         *
         * @param numLayers Transformer layers
         * @return this builder
         */
        public Builder setNumLayers(int numLayers) {
            this.numLayers = numLayers;
            return this;
        }

        /**
         * Sets A, the number of attention heads (required).
         *
         * @param numHeads heads; must divide the hidden size
         * @return this builder
         */
        public Builder setNumHeads(int numHeads) {
            this.numHeads = numHeads;
            return this;
        }

        /**
         * Sets P, the number of position embeddings (required).
         *
         * @param maxPositions the longest sequence the model can read
         * @return this builder
         */
        public Builder setMaxPositions(int maxPositions) {
            this.maxPositions = maxPositions;
            return this;
        }

        /**
         * Overrides I, the MLP inner size (default 4·H).
         *
         * @param intermediateSize the MLP inner size
         * @return this builder
         */
        public Builder optIntermediateSize(int intermediateSize) {
            this.intermediateSize = intermediateSize;
            return this;
        }

        /**
         * Overrides T, the number of token types (BERT default 2; GPT-2 must keep 0).
         *
         * @param typeVocabSize token types
         * @return this builder
         */
        public Builder optTypeVocabSize(int typeVocabSize) {
            this.typeVocabSize = typeVocabSize;
            return this;
        }

        /**
         * Overrides the LayerNorm epsilon (BERT default 1e-12, GPT-2 1e-5).
         *
         * @param layerNormEps a positive epsilon
         * @return this builder
         */
        public Builder optLayerNormEps(double layerNormEps) {
            this.layerNormEps = layerNormEps;
            return this;
        }

        /**
         * Overrides the MLP activation (BERT default {@code gelu}, GPT-2 {@code gelu_new}).
         *
         * @param hiddenAct the activation
         * @return this builder
         */
        public Builder optHiddenAct(Activation hiddenAct) {
            this.hiddenAct = Objects.requireNonNull(hiddenAct, "hiddenAct");
            return this;
        }

        /**
         * Overrides the hidden dropout (default 0.1).
         *
         * @param hiddenDropout a probability in [0, 1)
         * @return this builder
         */
        public Builder optHiddenDropout(double hiddenDropout) {
            this.hiddenDropout = hiddenDropout;
            return this;
        }

        /**
         * Overrides the attention-probability dropout (default 0.1).
         *
         * @param attentionDropout a probability in [0, 1)
         * @return this builder
         */
        public Builder optAttentionDropout(double attentionDropout) {
            this.attentionDropout = attentionDropout;
            return this;
        }

        /**
         * Overrides the initialisation standard deviation (default 0.02).
         *
         * @param initializerRange a positive standard deviation
         * @return this builder
         */
        public Builder optInitializerRange(double initializerRange) {
            this.initializerRange = initializerRange;
            return this;
        }

        /**
         * Chooses pre-LN (Megatron-BERT) or post-LN (original BERT) for BERT; GPT-2 is always pre-LN
         * and rejects {@code false}.
         *
         * @param preLayerNorm true for pre-LN
         * @return this builder
         */
        public Builder optPreLayerNorm(boolean preLayerNorm) {
            this.preLayerNorm = preLayerNorm;
            return this;
        }

        /**
         * Overrides the vocabulary padding multiple per tensor-parallel rank (default 128, as
         * Megatron-LM).
         *
         * @param makeVocabSizeDivisibleBy a positive multiple; 1 disables padding at tp 1
         * @return this builder
         */
        public Builder optMakeVocabSizeDivisibleBy(int makeVocabSizeDivisibleBy) {
            this.makeVocabSizeDivisibleBy = makeVocabSizeDivisibleBy;
            return this;
        }

        /**
         * Overrides the padding token id (RoBERTa default 1, else 0).
         *
         * @param padTokenId a token id in {@code [0, vocabSize)}
         * @return this builder
         */
        public Builder optPadTokenId(int padTokenId) {
            this.padTokenId = padTokenId;
            return this;
        }

        /**
         * Overrides the output head (default {@link HeadConfig#PRETRAINING}).
         *
         * @param head a classifier or the pre-training heads; classifiers exist for BERT, RoBERTa, ALBERT and
         *     DistilBERT
         * @return this builder
         */
        public Builder optHead(HeadConfig head) {
            this.head = Objects.requireNonNull(head, "head");
            return this;
        }

        /**
         * Sets ALBERT's factorised embedding and layer sharing (ALBERT only; default
         * {@link AlbertShape#DEFAULT}).
         *
         * @param albert E, groups, layers per group and the sentence-order head's dropout
         * @return this builder
         */
        public Builder optAlbert(AlbertShape albert) {
            this.albert = Objects.requireNonNull(albert, "albert");
            return this;
        }

        /**
         * Validates every field and builds the configuration.
         *
         * @return the immutable configuration
         * @throws IllegalArgumentException listing every invalid field with its value, the rule it
         *     breaks and a fix
         */
        public TransformerConfig build() {
            List<String> p = new ArrayList<>();
            if (architecture == Architecture.GPT2 && head.task() != HeadConfig.Task.PRETRAINING) {
                p.add("head = " + head.task() + " is not built for GPT2: Tessera's classifiers sit on BERT, RoBERTa,"
                        + " DistilBERT and ALBERT encoders; drop optHead(..)");
            }
            positive(p, "vocabSize", vocabSize, "setVocabSize",
                    "the tokenizer's vocabulary size, e.g. 30522 for BERT's WordPiece or 50257 for GPT-2's BPE");
            positive(p, "hiddenSize", hiddenSize, "setHiddenSize", "the model dimension, e.g. 768");
            positive(p, "numLayers", numLayers, "setNumLayers", "the number of Transformer layers, e.g. 12");
            positive(p, "numHeads", numHeads, "setNumHeads", "the number of attention heads, e.g. 12");
            positive(p, "maxPositions", maxPositions, "setMaxPositions",
                    "the longest sequence, e.g. 512 for BERT or 1024 for GPT-2");
            if (hiddenSize > 0 && numHeads > 0 && hiddenSize % numHeads != 0) {
                p.add("hiddenSize = " + hiddenSize + " is not divisible by numHeads = " + numHeads
                        + ": each head gets hiddenSize / numHeads dimensions, so hiddenSize % numHeads must be 0;"
                        + " choose numHeads from " + divisors(hiddenSize) + " or change hiddenSize");
            }
            if (intermediateSize != null && intermediateSize <= 0) {
                p.add("intermediateSize = " + intermediateSize
                        + " must be positive: it is the MLP's inner size;"
                        + " drop optIntermediateSize(..) for the default 4 × hiddenSize");
            }
            if (intermediateSize == null && hiddenSize > Integer.MAX_VALUE / 4) {
                p.add("hiddenSize = " + hiddenSize
                        + " is too large for the default intermediateSize 4 × hiddenSize (over 2^31 - 1);"
                        + " set optIntermediateSize(..)");
            }
            if (architecture != Architecture.ALBERT && albert != null) {
                p.add("albert = " + albert + " is set on a " + architecture + " configuration; ALBERT's factorised"
                        + " embedding and layer sharing exist only for Architecture.ALBERT: drop optAlbert(..)");
            }
            if (architecture == Architecture.ALBERT) {
                albert.check(p, numLayers);
            }
            if (architecture == Architecture.BERT || architecture == Architecture.ALBERT) {
                if (typeVocabSize < 1) {
                    p.add("typeVocabSize = " + typeVocabSize
                            + " must be >= 1 for " + architecture + ": it is the number of segment (token-type) embeddings;"
                            + " use 2 as BERT does");
                }
                if (architecture == Architecture.ALBERT && preLayerNorm) {
                    p.add("preLayerNorm = true is not possible for ALBERT, which is post-LN; drop optPreLayerNorm(true)");
                }
            } else if (architecture == Architecture.ROBERTA || architecture == Architecture.DISTILBERT) {
                encoderRules(p);
            } else {
                if (typeVocabSize != 0) {
                    p.add("typeVocabSize = " + typeVocabSize
                            + " must be 0 for GPT-2, which has no token-type embeddings;"
                            + " drop optTypeVocabSize(..) or use Architecture.BERT");
                }
                if (!preLayerNorm) {
                    p.add("preLayerNorm = false is not possible for GPT-2, which is always pre-LN;"
                            + " drop optPreLayerNorm(false)");
                }
            }
            if (!(layerNormEps > 0) || Double.isInfinite(layerNormEps)) {
                p.add("layerNormEps = " + layerNormEps
                        + " must be a finite number > 0: it keeps LayerNorm's division by the standard deviation"
                        + " finite; use 1e-12 (BERT) or 1e-5 (GPT-2, Megatron)");
            }
            probability(p, "hiddenDropout", hiddenDropout, "optHiddenDropout");
            probability(p, "attentionDropout", attentionDropout, "optAttentionDropout");
            if (!(initializerRange > 0) || Double.isInfinite(initializerRange)) {
                p.add("initializerRange = " + initializerRange
                        + " must be a finite number > 0: it is the standard deviation of the weight"
                        + " initialisation; use 0.02 as BERT and GPT-2 do");
            }
            if (makeVocabSizeDivisibleBy < 1) {
                p.add("makeVocabSizeDivisibleBy = " + makeVocabSizeDivisibleBy
                        + " must be >= 1: the vocabulary is padded to a multiple of it times tensorParallel;"
                        + " use 128 as Megatron-LM does, or 1 for no padding");
            }
            if (!p.isEmpty()) {
                throw new IllegalArgumentException("invalid " + architecture + " TransformerConfig:\n  - "
                        + p.stream().collect(Collectors.joining("\n  - ")));
            }
            return new TransformerConfig(this);
        }

        /** The family rules of RoBERTa and DistilBERT (post-LN encoders with a masked-LM head only). */
        private void encoderRules(List<String> p) {
            if (preLayerNorm) {
                p.add("preLayerNorm = true is not possible for " + architecture + ", which is post-LN;"
                        + " drop optPreLayerNorm(true) or use Architecture.BERT for Megatron-BERT");
            }
            if (architecture == Architecture.ROBERTA) {
                if (typeVocabSize < 1) {
                    p.add("typeVocabSize = " + typeVocabSize + " must be >= 1 for ROBERTA: it reads token type 0;"
                            + " use 1 as RoBERTa does");
                }
                if (vocabSize > 0 && (padTokenId < 0 || padTokenId >= vocabSize)) {
                    p.add("padTokenId = " + padTokenId + " must be in [0, vocabSize = " + vocabSize
                            + "): RoBERTa numbers positions from it; use 1 as RoBERTa's tokenizer does");
                }
                if (maxPositions > 0 && padTokenId >= 0 && maxPositions <= padTokenId + 1) {
                    p.add("maxPositions = " + maxPositions + " must exceed padTokenId + 1 = " + (padTokenId + 1)
                            + ": RoBERTa's first token has position padTokenId + 1; set maxPositions to the longest"
                            + " sequence + padTokenId + 1 (514 for 512 tokens)");
                }
            } else {
                if (typeVocabSize != 0) {
                    p.add("typeVocabSize = " + typeVocabSize + " must be 0 for DISTILBERT, which has no token-type"
                            + " embeddings; drop optTypeVocabSize(..)");
                }
                if (Double.compare(layerNormEps, DISTILBERT_LAYER_NORM_EPS) != 0) {
                    p.add("layerNormEps = " + layerNormEps + " must be 1e-12 for DISTILBERT: Hugging Face's DistilBERT"
                            + " fixes it and config.json has no key for it; drop optLayerNormEps(..)");
                }
            }
        }

        private static void positive(List<String> p, String field, int value, String setter, String meaning) {
            if (value <= 0) {
                p.add(field + " = " + value + (value == 0 ? " is not set or zero" : " is negative")
                        + ": it must be positive; call " + setter + "(..) with " + meaning);
            }
        }

        private static void probability(List<String> p, String field, double value, String setter) {
            if (!(value >= 0 && value < 1)) {
                p.add(field + " = " + value + " must be a probability in [0, 1): a dropout of 1 would drop"
                        + " everything; call " + setter + "(..) with e.g. 0.1, or 0 to disable dropout");
            }
        }
    }
}
