package io.tessera.models;

import io.tessera.core.tape.Var;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A model's losses on one batch as named <em>sums</em> over the positions that carry a label, with
 * those positions' counts: what a trainer needs to normalise by the label count of the whole global
 * batch without knowing the model family (which positions carry labels, and GPT-2's shift of labels
 * by one, are the model's business).
 *
 * <pre>
 *   BERT pre-training:  mlm  Σ cross-entropy over labels ≠ -100         count = labelled tokens
 *                       nsp  Σ cross-entropy over next-sentence labels   count = labelled sequences
 *   GPT-2:              lm   Σ cross-entropy of position t vs token t+1  count = labelled targets
 *
 *   step loss (any layout) = Σ_terms  weight_term · Σ_micro-batches,ranks sum_term  /  Σ_micro-batches,ranks count_term
 * </pre>
 *
 * <p>A term with count 0 has a null sum (nothing to differentiate). {@link Term#correct} counts the
 * labelled positions whose arg-max prediction is right when the caller asked for it, else -1.
 *
 * <p>Thread safety: immutable; the values belong to the tape.
 *
 * @param terms the terms, in a fixed order per model
 */
public record LossTerms(List<Term> terms) {

    /**
     * One loss term.
     *
     * @param name e.g. {@code mlm}, {@code nsp}, {@code lm}
     * @param sum the summed loss over labelled positions (a scalar on the tape), or null when count is 0
     * @param count the labelled positions of this batch
     * @param correct labelled positions predicted right, or -1 when not computed
     * @param weight the term's factor in the step loss (1 for every model's own terms; a distillation
     *     objective weighs its soft-target, masked-LM and cosine terms)
     */
    public record Term(String name, Var sum, long count, long correct, double weight) {
        public Term {
            Objects.requireNonNull(name, "name");
            if (!(weight >= 0) || Double.isInfinite(weight)) {
                throw new IllegalArgumentException("loss term " + name + ": weight " + weight + " must be finite and >= 0");
            }
            if (count < 0 || (count > 0) != (sum != null)) {
                throw new IllegalArgumentException("loss term " + name + ": count " + count + " with " + (sum == null ? "no" : "a")
                        + " sum; a term has a sum exactly when it has labelled positions");
            }
        }

        /**
         * A term of weight 1.
         *
         * @param name e.g. {@code mlm}
         * @param sum the summed loss, or null when count is 0
         * @param count the labelled positions
         * @param correct correct predictions, or -1
         */
        public Term(String name, Var sum, long count, long correct) {
            this(name, sum, count, correct, 1.0);
        }

        /**
         * @param w the new weight
         * @return this term with weight {@code w}
         */
        public Term weighted(double w) {
            return new Term(name, sum, count, correct, w);
        }
    }

    public LossTerms {
        terms = List.copyOf(terms);
        Map<String, Term> seen = new LinkedHashMap<>();
        for (Term t : terms) {
            if (seen.put(t.name(), t) != null) {
                throw new IllegalArgumentException("loss term " + t.name() + " appears twice; names must be unique");
            }
        }
    }

    /** @return the term names, in order */
    public List<String> names() {
        List<String> out = new ArrayList<>();
        terms.forEach(t -> out.add(t.name()));
        return out;
    }

    /**
     * Each term's mean over its labelled positions, for a batch taken alone (a trainer normalising over a
     * global batch sums {@link Term#sum} and {@link Term#count} first instead).
     *
     * @return {@code sum / count} by name, in order, for the terms with labelled positions
     */
    public Map<String, Double> means() {
        Map<String, Double> out = new LinkedHashMap<>();
        for (Term t : terms) {
            if (t.count() > 0) {
                out.put(t.name(), (double) t.sum().value().getFloat() / t.count());
            }
        }
        return out;
    }

    /** @return each term's label count, by name, in order */
    public Map<String, Long> counts() {
        Map<String, Long> out = new LinkedHashMap<>();
        terms.forEach(t -> out.put(t.name(), t.count()));
        return out;
    }
}
