package io.tessera.optim.amp;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import io.tessera.core.Torch;
import java.util.Objects;

/**
 * Dynamic loss scaling for fp16 mixed precision, with DeepSpeed's and PyTorch's rule: multiply the loss
 * by {@code S} so that small fp16 gradients do not flush to zero; divide the gradients by {@code S}
 * before clipping and the step; on overflow skip the step and shrink {@code S}; after a window of clean
 * steps grow it.
 *
 * <pre>
 *   overflow (some gradient is ±inf or NaN):  skip the step;  S ← max(S · backoff, minScale);  clean ← 0
 *   clean step:                                apply it;       clean ← clean + 1;
 *                                              if clean = window:  S ← S · growth;  clean ← 0
 *   defaults (DeepSpeed fp16): S₀ = 2^16, window 1000, growth 2, backoff 1/2, minScale 1
 * </pre>
 *
 * <p>DeepSpeed's optional hysteresis (tolerating a few overflows before shrinking) is not modelled: every
 * overflow shrinks the scale, as PyTorch's {@code GradScaler} does. Overflow must be decided the same way
 * on every rank: use a globally reduced value such as {@code GradientNorm.Result.finite()}, or reduce
 * {@link #hasNonFinite(NDArray)} over the group before {@link #update(boolean)}.
 *
 * <pre>{@code
 * NDArray seed = tape.manager().full(loss.value().getShape(), (float) scaler.scale());
 * tape.backward(loss, seed);                        // gradients of S·loss
 * scaler.unscale(buffer.grads());
 * GradientNorm.Result n = clipper.clip(buffer.grads(), 1.0);
 * if (scaler.update(!n.finite())) optimizer.step(buffer.params(), buffer.grads(), lr);
 * buffer.zeroGrad();
 * }</pre>
 *
 * <p>Thread safety: not thread-safe; one scaler per rank, used by the training thread.
 */
public final class DynamicLossScaler {

    private final Config config;
    private double scale;
    private long cleanSteps;
    private long skippedSteps;

    /**
     * @param config the scaling rule
     */
    public DynamicLossScaler(Config config) {
        this.config = Objects.requireNonNull(config, "config");
        this.scale = config.initialScale;
    }

    /**
     * Whether any element is ±inf or NaN, in one reduction: the sum of an array is finite exactly when
     * every element is finite, except when finite elements add up beyond the fp32 range, which is an
     * overflow of the gradients all the same (DeepSpeed's check). fp16 arrays are summed in fp32 (a copy),
     * so that a large but finite fp16 sum does not read as an overflow.
     *
     * @param grads the gradients, any shape, fp32, fp64 or fp16
     * @return true when some element is not finite
     */
    @SuppressWarnings("try") // the scopes act by being opened and closed
    public static boolean hasNonFinite(NDArray grads) {
        try (NDScope scope = new NDScope(); Torch.GradMode g = Torch.gradMode(false)) {
            NDArray wide = grads.getDataType() == DataType.FLOAT16 ? grads.toType(DataType.FLOAT32, false) : grads;
            return !Double.isFinite(wide.sum().toType(DataType.FLOAT64, false).getDouble());
        }
    }

    /** @return the current scale {@code S}; multiply the loss by it */
    public double scale() {
        return scale;
    }

    /**
     * Divides the gradients by the current scale in place, before clipping and the step.
     *
     * @param grads the gradients
     */
    @SuppressWarnings("try") // the scopes act by being opened and closed
    public void unscale(NDArray grads) {
        try (Torch.GradMode g = Torch.gradMode(false)) {
            grads.muli(1 / scale);
        }
    }

    /**
     * Records the outcome of a backward pass and adapts the scale.
     *
     * @param overflow whether some gradient was not finite (decided identically on every rank)
     * @return whether to apply the optimizer step (false: skip it and zero the gradients)
     */
    public boolean update(boolean overflow) {
        if (overflow) {
            scale = Math.max(scale * config.backoffFactor, config.minScale);
            cleanSteps = 0;
            skippedSteps++;
            return false;
        }
        cleanSteps++;
        if (cleanSteps == config.growthInterval) {
            scale *= config.growthFactor;
            cleanSteps = 0;
        }
        return true;
    }

    /**
     * Restores the state a checkpoint saved ({@link #scale()}, {@link #cleanSteps()},
     * {@link #skippedSteps()}), so that a resumed run scales exactly as the uninterrupted one.
     *
     * @param scale the scale, within [minScale, ∞)
     * @param cleanSteps clean steps since the last overflow or growth, in [0, window)
     * @param skippedSteps steps skipped so far, ≥ 0
     */
    public void restore(double scale, long cleanSteps, long skippedSteps) {
        if (!(scale >= config.minScale() && Double.isFinite(scale)) || cleanSteps < 0 || cleanSteps >= config.growthInterval()
                || skippedSteps < 0) {
            throw new IllegalArgumentException("loss scaler state (scale " + scale + ", clean steps " + cleanSteps + ", skipped "
                    + skippedSteps + ") does not fit the rule (minScale " + config.minScale() + ", window " + config.growthInterval()
                    + "); resume with the loss-scaling options of the saved run");
        }
        this.scale = scale;
        this.cleanSteps = cleanSteps;
        this.skippedSteps = skippedSteps;
    }

    /** @return consecutive clean steps since the last overflow or growth */
    public long cleanSteps() {
        return cleanSteps;
    }

    /** @return number of steps skipped for overflow so far */
    public long skippedSteps() {
        return skippedSteps;
    }

    /** @return the scaling rule */
    public Config config() {
        return config;
    }

    @Override
    public String toString() {
        return "DynamicLossScaler(scale=" + scale + ", clean=" + cleanSteps + ", skipped=" + skippedSteps + ")";
    }

    /**
     * The scaling rule.
     *
     * <p>Thread safety: immutable.
     */
    public static final class Config {

        private final double initialScale;
        private final long growthInterval;
        private final double growthFactor;
        private final double backoffFactor;
        private final double minScale;

        private Config(Builder b) {
            this.initialScale = b.initialScale;
            this.growthInterval = b.growthInterval;
            this.growthFactor = b.growthFactor;
            this.backoffFactor = b.backoffFactor;
            this.minScale = b.minScale;
        }

        /** @return a builder with DeepSpeed's defaults */
        public static Builder builder() {
            return new Builder();
        }

        /** @return the scale at the first step */
        public double initialScale() {
            return initialScale;
        }

        /** @return clean steps between two growths */
        public long growthInterval() {
            return growthInterval;
        }

        /** @return factor applied when growing */
        public double growthFactor() {
            return growthFactor;
        }

        /** @return factor applied on overflow */
        public double backoffFactor() {
            return backoffFactor;
        }

        /** @return the floor of the scale */
        public double minScale() {
            return minScale;
        }

        /** Builds a {@link Config}; validated in {@link #build()}. Thread safety: not thread-safe. */
        public static final class Builder {
            private double initialScale = 65536;
            private long growthInterval = 1000;
            private double growthFactor = 2;
            private double backoffFactor = 0.5;
            private double minScale = 1;

            private Builder() {}

            /**
             * @param initialScale the first scale, &gt;= minScale (default 2^16)
             * @return this builder
             */
            public Builder initialScale(double initialScale) {
                this.initialScale = initialScale;
                return this;
            }

            /**
             * @param growthInterval clean steps before growing, &gt;= 1 (default 1000)
             * @return this builder
             */
            public Builder growthInterval(long growthInterval) {
                this.growthInterval = growthInterval;
                return this;
            }

            /**
             * @param growthFactor factor &gt; 1 (default 2)
             * @return this builder
             */
            public Builder growthFactor(double growthFactor) {
                this.growthFactor = growthFactor;
                return this;
            }

            /**
             * @param backoffFactor factor in (0, 1) (default 0.5)
             * @return this builder
             */
            public Builder backoffFactor(double backoffFactor) {
                this.backoffFactor = backoffFactor;
                return this;
            }

            /**
             * @param minScale the floor, &gt; 0 (default 1)
             * @return this builder
             */
            public Builder minScale(double minScale) {
                this.minScale = minScale;
                return this;
            }

            /** @return the validated config */
            public Config build() {
                if (!(minScale > 0 && Double.isFinite(minScale))) {
                    throw new IllegalArgumentException("loss scaler: minScale = " + minScale
                            + " must be finite and > 0; DeepSpeed uses 1");
                }
                if (!(initialScale >= minScale && Double.isFinite(initialScale))) {
                    throw new IllegalArgumentException("loss scaler: initialScale = " + initialScale
                            + " must be finite and >= minScale = " + minScale + "; DeepSpeed starts at 2^16 = 65536");
                }
                if (growthInterval < 1) {
                    throw new IllegalArgumentException("loss scaler: growthInterval = " + growthInterval
                            + " must be >= 1; DeepSpeed grows after 1000 clean steps");
                }
                if (!(growthFactor > 1 && Double.isFinite(growthFactor))) {
                    throw new IllegalArgumentException("loss scaler: growthFactor = " + growthFactor
                            + " must be finite and > 1; DeepSpeed uses 2");
                }
                if (!(backoffFactor > 0 && backoffFactor < 1)) {
                    throw new IllegalArgumentException("loss scaler: backoffFactor = " + backoffFactor
                            + " must be in (0, 1); DeepSpeed halves the scale (0.5)");
                }
                return new Config(this);
            }
        }
    }
}
