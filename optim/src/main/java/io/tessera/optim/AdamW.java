package io.tessera.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import io.tessera.core.Torch;
import java.util.List;
import java.util.Objects;

/**
 * Adam with decoupled weight decay (Loshchilov &amp; Hutter, 2019), step for step as
 * {@code torch.optim.AdamW} (no AMSGrad) with two parameter groups: weight decay {@code λ} on segments
 * whose {@link FlatSegment#weightDecay()} is true, none on biases and LayerNorm weights.
 *
 * <pre>
 *   t ← t + 1
 *   p ← p · (1 − η·λ)                           (decayed segments only)
 *   m ← β₁·m + (1 − β₁)·g
 *   v ← β₂·v + (1 − β₂)·g²
 *   p ← p − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
 * </pre>
 *
 * <p>On CPU the update is one pass over memory ({@link AdamWKernel}: chunked, on libtorch's intra-op
 * threads). Elsewhere (device tensors) every line is one or two NDArray ops over the whole range (the
 * decay one op per run of adjacent decayed segments), each temporary freed as soon as it is used, so a
 * step needs at most two range-sized temporaries at a time. Both compute the same fp32 operations in the
 * same order. State: {@link OptimizerState}, 8 bytes
 * per element of the range. No communication: under ZeRO each rank steps its own shard independently.
 *
 * <p>Thread safety: not thread-safe; one instance per rank, used by one thread.
 */
public final class AdamW implements Optimizer {

    private final Config config;
    private final FlatRange range;
    private final OptimizerState state;
    private final List<FlatRange.Span> decayed;
    private boolean fused = true;

    /**
     * @param config hyper-parameters
     * @param range the range this optimizer owns
     * @param parent manager whose device holds the state; the optimizer owns a child of it
     */
    public AdamW(Config config, FlatRange range, NDManager parent) {
        this.config = Objects.requireNonNull(config, "config");
        this.range = Objects.requireNonNull(range, "range");
        this.decayed = range.spans(FlatSegment::weightDecay);
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
    @SuppressWarnings("try") // the scopes act by being opened and closed
    public void step(NDArray params, NDArray grads, double lr) {
        range.checkArray(params, "AdamW.step params");
        range.checkArray(grads, "AdamW.step grads");
        Checks.float32(params, "AdamW.step params");
        Checks.float32(grads, "AdamW.step grads");
        Checks.learningRate(lr);
        NDArray m = state.firstMoment();
        NDArray v = state.secondMoment();
        long t = state.advance();
        double b1 = config.beta1;
        double b2 = config.beta2;
        double stepSize = lr / (1 - Math.pow(b1, t));
        double correction2 = Math.sqrt(1 - Math.pow(b2, t));
        double decay = config.weightDecay > 0 && lr > 0 ? 1 - lr * config.weightDecay : 1;
        if (fused && AdamWKernel.applies(params, grads, m, v)) {
            AdamWKernel.step(params, grads, m, v, decayed, (float) decay, b1, b2, (float) stepSize,
                    (float) correction2, (float) config.eps);
            return;
        }
        try (NDScope scope = new NDScope(); Torch.GradMode g = Torch.gradMode(false)) {
            if (decay != 1) {
                for (FlatRange.Span s : decayed) {
                    s.view(params).muli(decay);
                }
            }
            try (NDArray scaled = grads.mul(1 - b1)) {
                m.muli(b1).addi(scaled);
            }
            try (NDArray squared = grads.square()) {
                v.muli(b2).addi(squared.muli(1 - b2));
            }
            try (NDArray denom = v.sqrt(); NDArray update = m.mul(stepSize)) {
                denom.divi(correction2).addi(config.eps);
                params.subi(update.divi(denom));
            }
        }
    }

    /**
     * Chooses between the one-pass CPU update and tensor ops (for tests that compare the two).
     *
     * @param enabled whether CPU ranges use {@link AdamWKernel} (default true)
     * @return this optimizer
     */
    AdamW fusedCpuUpdate(boolean enabled) {
        this.fused = enabled;
        return this;
    }

    @Override
    public void close() {
        state.close();
    }

    /**
     * AdamW hyper-parameters; the learning rate comes per step from a schedule.
     *
     * <p>Thread safety: immutable.
     */
    public static final class Config {

        private final double beta1;
        private final double beta2;
        private final double eps;
        private final double weightDecay;

        private Config(Builder b) {
            this.beta1 = b.beta1;
            this.beta2 = b.beta2;
            this.eps = b.eps;
            this.weightDecay = b.weightDecay;
        }

        /** @return a builder with torch.optim.AdamW's defaults: β = (0.9, 0.999), ε = 1e-8, λ = 0.01 */
        public static Builder builder() {
            return new Builder();
        }

        /** @return β₁, decay of the first moment */
        public double beta1() {
            return beta1;
        }

        /** @return β₂, decay of the second moment */
        public double beta2() {
            return beta2;
        }

        /** @return ε, added to the denominator */
        public double eps() {
            return eps;
        }

        /** @return λ, the decoupled weight decay of decayed segments */
        public double weightDecay() {
            return weightDecay;
        }

        @Override
        public String toString() {
            return "AdamW(beta1=" + beta1 + ", beta2=" + beta2 + ", eps=" + eps + ", weightDecay=" + weightDecay + ")";
        }

        /** Builds a {@link Config}; validated in {@link #build()}. Thread safety: not thread-safe. */
        public static final class Builder {
            private double beta1 = 0.9;
            private double beta2 = 0.999;
            private double eps = 1e-8;
            private double weightDecay = 0.01;

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

            /** @return the validated config */
            public Config build() {
                Checks.unitInterval("AdamW config", "beta1", beta1, "0.9");
                Checks.unitInterval("AdamW config", "beta2", beta2, "0.999");
                Checks.positive("AdamW config", "eps", eps, "1e-8");
                Checks.nonNegative("AdamW config", "weightDecay", weightDecay, "0.01");
                return new Config(this);
            }
        }
    }
}
