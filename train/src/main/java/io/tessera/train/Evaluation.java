package io.tessera.train;

import java.util.Map;

/**
 * Held-out metrics at a step: the loss, each loss term's mean over its labelled positions and, where
 * the model counts them, the accuracy of its arg-max predictions.
 *
 * <p>Thread safety: immutable.
 *
 * @param step steps completed when evaluated
 * @param loss the sum of the terms' means
 * @param termLosses term name ({@code mlm}, {@code nsp}, {@code lm}) to its mean loss
 * @param accuracies term name to accuracy, for the terms that have one
 * @param perplexity {@code exp(loss)} for causal language modelling, NaN otherwise
 * @param metrics a task's own scores by name (e.g. {@code accuracy}, {@code macro_f1}, {@code f1},
 *     {@code f1_PER}), in the order they are reported; empty for pretraining
 */
public record Evaluation(int step, double loss, Map<String, Double> termLosses, Map<String, Double> accuracies,
                         double perplexity, Map<String, Double> metrics) {

    public Evaluation {
        termLosses = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(termLosses));
        accuracies = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(accuracies));
        metrics = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(metrics));
    }

    /**
     * A pretraining evaluation: losses, accuracies and perplexity, no task metrics.
     *
     * @param step steps completed
     * @param loss the sum of the terms' means
     * @param termLosses each term's mean loss
     * @param accuracies each term's accuracy, where it has one
     * @param perplexity {@code exp(loss)} for causal language modelling, else NaN
     */
    public Evaluation(int step, double loss, Map<String, Double> termLosses, Map<String, Double> accuracies, double perplexity) {
        this(step, loss, termLosses, accuracies, perplexity, Map.of());
    }

    /**
     * @param term a term name
     * @return its mean held-out loss
     * @throws IllegalArgumentException naming the terms there are
     */
    public double termLoss(String term) {
        Double v = termLosses.get(term);
        if (v == null) {
            throw new IllegalArgumentException("no loss term '" + term + "'; this model's terms are " + termLosses.keySet());
        }
        return v;
    }
}
