package io.tessera.train.distill;

/**
 * The weights of DistilBERT's triple loss (Sanh et al., 2019), defaults as the paper's training script:
 *
 * <pre>
 *   L = α_ce · T² · CE(softmax(z_t / T), softmax(z_s / T))      soft targets, masked positions      term "ce"
 *     + α_mlm · CE(z_s, labels)                                  the student's masked-LM loss        term "mlm"
 *     + α_cos · (1 − cos(h_s, h_t))                              last hidden states, attended tokens  term "cos"
 * </pre>
 * with z the vocabulary logits, CE(p, q) = −Σ_v p_v log q_v, h the last hidden states, and each term a
 * mean over the global batch's positions of its kind. The soft-target term is the cross-entropy the
 * paper writes; Hugging Face's distiller computes the KL divergence instead, which differs by the
 * teacher's entropy, a constant: same gradients.
 *
 * <p>Thread safety: immutable.
 *
 * @param alphaCe α_ce, weight of the soft-target term (paper: 5)
 * @param alphaMlm α_mlm, weight of the masked-LM term (paper: 2)
 * @param alphaCos α_cos, weight of the cosine term (paper: 1)
 * @param temperature T (paper: 2)
 */
public record DistillationLoss(double alphaCe, double alphaMlm, double alphaCos, double temperature) {

    /** The paper's weights: 5, 2, 1 at temperature 2. */
    public static final DistillationLoss PAPER = new DistillationLoss(5, 2, 1, 2);

    /**
     * @throws IllegalArgumentException if a weight is negative or not finite, all are 0, or T ≤ 0
     */
    public DistillationLoss {
        check("--alpha-ce", alphaCe);
        check("--alpha-mlm", alphaMlm);
        check("--alpha-cos", alphaCos);
        if (alphaCe + alphaMlm + alphaCos == 0) {
            throw new IllegalArgumentException("--alpha-ce, --alpha-mlm and --alpha-cos are all 0; at least one term must count"
                    + " (the paper: 5, 2, 1)");
        }
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("--temperature " + temperature + " must be a finite number > 0 (the paper: 2)");
        }
    }

    private static void check(String flag, double v) {
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(flag + " " + v + " must be a finite number >= 0");
        }
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%g·ce(T=%g) + %g·mlm + %g·cos", alphaCe, temperature, alphaMlm, alphaCos);
    }

}
