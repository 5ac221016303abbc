package io.tessera.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.tessera.core.Torch;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * LAMB, layer-wise adaptive moments (You et al., 2019, the final version as in NVIDIA's and Megatron's
 * BERT pre-training): Adam's direction plus decoupled weight decay, rescaled per tensor by a trust ratio.
 *
 * <pre>
 *   t ← t + 1
 *   m ← β₁·m + (1 − β₁)·g                v ← β₂·v + (1 − β₂)·g²
 *   m̂ = m / (1 − β₁ᵗ)                    v̂ = v / (1 − β₂ᵗ)          (no correction if biasCorrection is off)
 *   u = m̂ / (√v̂ + ε) + λ·p              (λ·p on decayed tensors only)
 *   r = ‖p‖ / ‖u‖ per tensor,  r = 1 if ‖p‖ = 0 or ‖u‖ = 0, and r = 1 on tensors not adapted
 *   p ← p − η · r · u
 * </pre>
 *
 * <p>Biases and LayerNorm weights ({@link FlatSegment#weightDecay()} false) get neither weight decay
 * nor adaptation by default; {@link Config.Builder#adaptNoDecay(boolean)} adapts them too.
 *
 * <p>The norms are over the <em>full</em> tensor. Its local pieces' sums of squares are completed by a
 * {@link TensorNorms}: over the tensor-parallel group for split weights, and over the data-parallel group
 * when the range is a ZeRO shard that may cut a tensor. All adapted tensors' partial sums of {@code p²}
 * and {@code u²} travel in one vector, so a step costs at most one all-reduce per group, issued between
 * computing {@code u} and applying the ratios.
 *
 * <p>Ops: the moments and {@code u} are whole-range NDArray ops, the decay one op per run of adjacent
 * decayed segments, the norms two dot products per tensor on views, the rescale one op per adapted tensor
 * whose ratio is not 1, the update one whole-range op. Temporaries are freed as soon as they are used:
 * at most two range-sized arrays at a time, one of them {@code u}.
 *
 * <p>Thread safety: not thread-safe; one instance per rank, used by one thread; {@link #step} issues the
 * norm collectives on the calling thread.
 */
public final class Lamb implements Optimizer {

    private final Config config;
    private final FlatRange range;
    private final TensorNorms norms;
    private final OptimizerState state;
    private final List<FlatRange.Span> decayed;
    private final List<FlatSegment> adapted;
    private final Predicate<FlatSegment> adapts;

    /**
     * A LAMB optimizer for one rank without tensor parallelism or ZeRO.
     *
     * @param config hyper-parameters
     * @param range the range this optimizer owns
     * @param parent manager whose device holds the state; the optimizer owns a child of it
     */
    public Lamb(Config config, FlatRange range, NDManager parent) {
        this(config, range, parent, TensorNorms.local());
    }

    /**
     * @param config hyper-parameters
     * @param range the range this optimizer owns
     * @param parent manager whose device holds the state; the optimizer owns a child of it
     * @param norms how partial per-tensor sums are completed across ranks, e.g.
     *     {@code TensorNorms.of(context, Sharding.PARTITIONED)} under ZeRO
     */
    public Lamb(Config config, FlatRange range, NDManager parent, TensorNorms norms) {
        this.config = Objects.requireNonNull(config, "config");
        this.range = Objects.requireNonNull(range, "range");
        this.norms = Objects.requireNonNull(norms, "norms");
        this.decayed = range.spans(FlatSegment::weightDecay);
        this.adapts = s -> s.weightDecay() || config.adaptNoDecay;
        this.adapted = range.segments().stream().filter(adapts).toList();
        this.state = new OptimizerState(range.length(), parent);
    }

    /** @return the hyper-parameters */
    public Config config() {
        return config;
    }

    @Override
    public FlatRange range() {
        return range;
    }

    @Override
    public OptimizerState state() {
        return state;
    }

    @Override
    public void step(NDArray params, NDArray grads, double lr) {
        range.checkArray(params, "Lamb.step params");
        range.checkArray(grads, "Lamb.step grads");
        Checks.float32(params, "Lamb.step params");
        Checks.float32(grads, "Lamb.step grads");
        Checks.learningRate(lr);
        long t = state.advance();
        NDArray u = update(params, grads, t);
        try {
            double[][] squares = norms.sumOfSquares(range, adapts, params, u);
            applyTrustRatios(params, u, squares, lr);
        } finally {
            u.close();
        }
    }

    /** m, v and the unscaled update u = m̂ / (√v̂ + ε) + λ·p, a new range-sized array the caller closes. */
    @SuppressWarnings("try") // the scopes act by being opened and closed
    private NDArray update(NDArray params, NDArray grads, long t) {
        NDArray m = state.firstMoment();
        NDArray v = state.secondMoment();
        double b1 = config.beta1;
        double b2 = config.beta2;
        try (NDScope scope = new NDScope(); Torch.GradMode g = Torch.gradMode(false)) {
            try (NDArray scaled = grads.mul(1 - b1)) {
                m.muli(b1).addi(scaled);
            }
            try (NDArray squared = grads.square()) {
                v.muli(b2).addi(squared.muli(1 - b2));
            }
            double c1 = config.biasCorrection ? 1 - Math.pow(b1, t) : 1;
            double c2 = config.biasCorrection ? 1 - Math.pow(b2, t) : 1;
            NDArray u = m.div(c1);
            try (NDArray denom = v.sqrt()) {
                u.divi(denom.divi(Math.sqrt(c2)).addi(config.eps));
            }
            if (config.weightDecay > 0) {
                for (FlatRange.Span s : decayed) {
                    try (NDArray decay = s.view(params).mul(config.weightDecay)) {
                        s.view(u).addi(decay);
                    }
                }
            }
            NDScope.unregister(u);
            return u;
        }
    }

    /** p ← p − η · r · u with each adapted tensor's r from its full-tensor squared norms. */
    @SuppressWarnings("try") // the scopes act by being opened and closed
    private void applyTrustRatios(NDArray params, NDArray u, double[][] squares, double lr) {
        try (NDScope scope = new NDScope(); Torch.GradMode g = Torch.gradMode(false)) {
            for (FlatSegment s : adapted) {
                double ratio = trustRatio(squares[0][s.tensorIndex()], squares[1][s.tensorIndex()]);
                if (ratio != 1) {
                    s.view(u).muli(ratio);
                }
            }
            params.subi(u.muli(lr));
        }
    }

    /**
     * @param paramSquares ‖p‖²
     * @param updateSquares ‖u‖²
     * @return ‖p‖ / ‖u‖, or 1 when either is zero
     */
    static double trustRatio(double paramSquares, double updateSquares) {
        return paramSquares > 0 && updateSquares > 0 ? Math.sqrt(paramSquares) / Math.sqrt(updateSquares) : 1;
    }

    @Override
    public void close() {
        state.close();
    }

    /**
     * LAMB hyper-parameters; the learning rate comes per step from a schedule.
     *
     * <p>Thread safety: immutable.
     */
    public static final class Config {

        private final double beta1;
        private final double beta2;
        private final double eps;
        private final double weightDecay;
        private final boolean biasCorrection;
        private final boolean adaptNoDecay;

        private Config(Builder b) {
            this.beta1 = b.beta1;
            this.beta2 = b.beta2;
            this.eps = b.eps;
            this.weightDecay = b.weightDecay;
            this.biasCorrection = b.biasCorrection;
            this.adaptNoDecay = b.adaptNoDecay;
        }

        /**
         * @return a builder with NVIDIA's BERT defaults: β = (0.9, 0.999), ε = 1e-6, λ = 0.01, bias
         *     correction on, no-decay tensors not adapted
         */
        public static Builder builder() {
            return new Builder();
        }

        /** @return β₁ */
        public double beta1() {
            return beta1;
        }

        /** @return β₂ */
        public double beta2() {
            return beta2;
        }

        /** @return ε, added to √v̂ */
        public double eps() {
            return eps;
        }

        /** @return λ, weight decay of decayed tensors */
        public double weightDecay() {
            return weightDecay;
        }

        /** @return whether m and v are divided by 1 − βᵗ */
        public boolean biasCorrection() {
            return biasCorrection;
        }

        /** @return whether no-decay tensors (biases, LayerNorm) get a trust ratio too */
        public boolean adaptNoDecay() {
            return adaptNoDecay;
        }

        @Override
        public String toString() {
            return "Lamb(beta1=" + beta1 + ", beta2=" + beta2 + ", eps=" + eps + ", weightDecay=" + weightDecay
                    + ", biasCorrection=" + biasCorrection + ", adaptNoDecay=" + adaptNoDecay + ")";
        }

        /** Builds a {@link Config}; validated in {@link #build()}. Thread safety: not thread-safe. */
        public static final class Builder {
            private double beta1 = 0.9;
            private double beta2 = 0.999;
            private double eps = 1e-6;
            private double weightDecay = 0.01;
            private boolean biasCorrection = true;
            private boolean adaptNoDecay;

            private Builder() {}

            /**
             * @param beta1 β₁ in [0, 1)
             * @return this builder
             */
            public Builder beta1(double beta1) {
                this.beta1 = beta1;
                return this;
            }

            /**
             * @param beta2 β₂ in [0, 1)
             * @return this builder
             */
            public Builder beta2(double beta2) {
                this.beta2 = beta2;
                return this;
            }

            /**
             * @param eps ε &gt; 0
             * @return this builder
             */
            public Builder eps(double eps) {
                this.eps = eps;
                return this;
            }

            /**
             * @param weightDecay λ &gt;= 0
             * @return this builder
             */
            public Builder weightDecay(double weightDecay) {
                this.weightDecay = weightDecay;
                return this;
            }

            /**
             * @param biasCorrection whether to divide the moments by 1 − βᵗ (default true)
             * @return this builder
             */
            public Builder biasCorrection(boolean biasCorrection) {
                this.biasCorrection = biasCorrection;
                return this;
            }

            /**
             * @param adaptNoDecay whether biases and LayerNorm weights get a trust ratio (default false)
             * @return this builder
             */
            public Builder adaptNoDecay(boolean adaptNoDecay) {
                this.adaptNoDecay = adaptNoDecay;
                return this;
            }

            /** @return the validated config */
            public Config build() {
                Checks.unitInterval("Lamb config", "beta1", beta1, "0.9");
                Checks.unitInterval("Lamb config", "beta2", beta2, "0.999");
                Checks.positive("Lamb config", "eps", eps, "1e-6");
                Checks.nonNegative("Lamb config", "weightDecay", weightDecay, "0.01");
                return new Config(this);
            }
        }
    }
}
