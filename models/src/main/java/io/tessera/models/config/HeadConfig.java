package io.tessera.models.config;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Which output head sits on a model's encoder, with Hugging Face's task fields: the pre-training
 * heads, or a classifier over K = {@code numLabels} labels,
 * <pre>
 *   SEQUENCE_CLASSIFICATION   logits [B, K]      one prediction per sequence  (…ForSequenceClassification)
 *   TOKEN_CLASSIFICATION      logits [B, T, K]   one prediction per token     (…ForTokenClassification)
 * </pre>
 * {@code labels} is {@code id2label} in id order (label i is class i), so {@code label2id} is its
 * inverse. {@link ProblemType#REGRESSION} needs K = 1 (MSE on the one output); classification is
 * single-label cross-entropy. Hugging Face's rule picks the problem type when none is given: regression
 * when K = 1, single-label classification otherwise.
 *
 * <p>{@code classifierDropout} is Hugging Face's {@code classifier_dropout} (BERT, RoBERTa; null means
 * {@code hidden_dropout_prob}) or {@code seq_classif_dropout} (DistilBERT; null means 0.2, its default).
 *
 * <p>Thread safety: immutable record, safe to share.
 *
 * @param task the head
 * @param labels id2label in id order; empty for {@link Task#PRETRAINING}
 * @param problemType regression or single-label classification; null for {@link Task#PRETRAINING}
 * @param classifierDropout the classifier's dropout probability, or null for the family's default
 */
public record HeadConfig(Task task, List<String> labels, ProblemType problemType, Double classifierDropout) {

    /** The pre-training heads of the family (masked LM, next sentence, LM). */
    public static final HeadConfig PRETRAINING = new HeadConfig(Task.PRETRAINING, List.of(), null, null);

    /** The output heads. */
    public enum Task {
        /** The family's pre-training model. */
        PRETRAINING("ForPreTraining"),
        /** One prediction per sequence. */
        SEQUENCE_CLASSIFICATION("ForSequenceClassification"),
        /** One prediction per token. */
        TOKEN_CLASSIFICATION("ForTokenClassification");

        private final String hfSuffix;

        Task(String hfSuffix) {
            this.hfSuffix = hfSuffix;
        }

        /** @return the Hugging Face class-name suffix, e.g. {@code ForSequenceClassification} */
        public String hfSuffix() {
            return hfSuffix;
        }
    }

    /** Hugging Face's {@code problem_type} values Tessera trains. */
    public enum ProblemType {
        /** MSE between the one logit and a float label. */
        REGRESSION("regression"),
        /** Cross-entropy over K classes, integer labels, -100 ignored. */
        SINGLE_LABEL_CLASSIFICATION("single_label_classification");

        private final String hfName;

        ProblemType(String hfName) {
            this.hfName = hfName;
        }

        /** @return the {@code problem_type} string */
        public String hfName() {
            return hfName;
        }

        /**
         * @param name a {@code problem_type} string
         * @return the problem type
         * @throws IllegalArgumentException for {@code multi_label_classification} or an unknown name
         */
        public static ProblemType fromHfName(String name) {
            for (ProblemType p : values()) {
                if (p.hfName.equals(name)) {
                    return p;
                }
            }
            throw new IllegalArgumentException("problem_type = \"" + name + "\" is not supported: Tessera trains \"regression\""
                    + " and \"single_label_classification\"; remove the key to let num_labels decide");
        }
    }

    /**
     * Validates.
     *
     * @throws IllegalArgumentException naming the field, the value and the rule
     */
    public HeadConfig {
        Objects.requireNonNull(task, "task");
        labels = List.copyOf(labels);
        if (task == Task.PRETRAINING) {
            if (!labels.isEmpty() || problemType != null || classifierDropout != null) {
                throw new IllegalArgumentException("a PRETRAINING head takes no labels, problemType or classifierDropout;"
                        + " use HeadConfig.PRETRAINING");
            }
        } else {
            if (labels.isEmpty()) {
                throw new IllegalArgumentException("numLabels = 0: a " + task + " head needs numLabels >= 1");
            }
            Set<String> seen = new HashSet<>();
            for (String l : labels) {
                if (!seen.add(Objects.requireNonNull(l, "label"))) {
                    throw new IllegalArgumentException("id2label holds \"" + l + "\" twice: labels must be distinct, as"
                            + " label2id maps each back to one id");
                }
            }
            Objects.requireNonNull(problemType, "problemType");
            if (problemType == ProblemType.REGRESSION && (labels.size() != 1 || task != Task.SEQUENCE_CLASSIFICATION)) {
                throw new IllegalArgumentException("problemType = regression needs a SEQUENCE_CLASSIFICATION head with"
                        + " numLabels = 1, got " + task + " with numLabels = " + labels.size()
                        + "; use single_label_classification or one label");
            }
            if (classifierDropout != null && !(classifierDropout >= 0 && classifierDropout < 1)) {
                throw new IllegalArgumentException("classifierDropout = " + classifierDropout + " must be in [0, 1)");
            }
        }
    }

    /**
     * A sequence classifier with Hugging Face's default problem type (regression when one label).
     *
     * @param labels id2label in id order, at least one
     * @return the head
     */
    public static HeadConfig sequenceClassification(List<String> labels) {
        return new HeadConfig(Task.SEQUENCE_CLASSIFICATION, labels, defaultProblemType(labels.size()), null);
    }

    /**
     * A token classifier.
     *
     * @param labels id2label in id order, at least one
     * @return the head
     */
    public static HeadConfig tokenClassification(List<String> labels) {
        return new HeadConfig(Task.TOKEN_CLASSIFICATION, labels, ProblemType.SINGLE_LABEL_CLASSIFICATION, null);
    }

    /**
     * Hugging Face's default names {@code LABEL_0 … LABEL_{n-1}}.
     *
     * @param numLabels K
     * @return the names
     * @throws IllegalArgumentException if {@code numLabels < 1}
     */
    public static List<String> defaultLabels(int numLabels) {
        if (numLabels < 1) {
            throw new IllegalArgumentException("numLabels = " + numLabels + ": a classifier needs numLabels >= 1");
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < numLabels; i++) {
            out.add("LABEL_" + i);
        }
        return out;
    }

    /**
     * Hugging Face's rule when {@code problem_type} is unset.
     *
     * @param numLabels K
     * @return regression for one label, single-label classification otherwise
     */
    public static ProblemType defaultProblemType(int numLabels) {
        return numLabels == 1 ? ProblemType.REGRESSION : ProblemType.SINGLE_LABEL_CLASSIFICATION;
    }

    /** @return K, 0 for {@link Task#PRETRAINING} */
    public int numLabels() {
        return labels.size();
    }

    /** @return the same head with another classifier dropout (null: the family's default) */
    public HeadConfig withClassifierDropout(Double p) {
        return new HeadConfig(task, labels, problemType, p);
    }
}
