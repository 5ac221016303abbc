package io.tessera.optim.schedule;

/**
 * The learning rate as a function of the optimizer step: linear warm-up to a peak, then constant, linear
 * or polynomial decay to an end value, as in BERT and the LAMB paper.
 *
 * <pre>
 *   step s = 1, 2, … is the number of the update about to be taken (s = 0: before training)
 *   warm-up      s ≤ W:   η(s) = η_peak · s / W
 *   after it     s &gt; W:   η(s) = η_end + (η_peak − η_end) · (1 − p)^power,   p = min(1, progress)
 *                        progress = (s − W) / (T − W)   decay origin WARMUP_END (Megatron, Hugging Face)
 *                        progress = s / T               decay origin TRAINING_START (BERT's TensorFlow code,
 *                                                       NVIDIA's LAMB scheduler)
 *   constant:    η(s) = η_peak after warm-up; linear decay: power = 1
 * </pre>
 *
 * <pre>{@code
 * LearningRateSchedule bert = LearningRateSchedule.builder()
 *         .peak(1e-4).warmupSteps(10_000).linearDecay(1_000_000).build();
 * double lr = bert.lr(step);
 * }</pre>
 *
 * <p>Thread safety: immutable.
 */
public final class LearningRateSchedule {

    /** Shape of the learning rate after warm-up. */
    private enum Decay {
        /** Stays at the peak. */
        CONSTANT,
        /** (1 − progress)^power, power 1 being linear. */
        POLYNOMIAL
    }

    /** Where the decay's progress is counted from. */
    public enum DecayOrigin {
        /** Progress 0 at the end of warm-up: continuous at the peak (Megatron-LM, Hugging Face). */
        WARMUP_END,
        /** Progress 0 at step 0, warm-up overriding the start (BERT's TensorFlow code, NVIDIA LAMB). */
        TRAINING_START
    }

    private final double peak;
    private final double end;
    private final long warmupSteps;
    private final long totalSteps;
    private final Decay decay;
    private final double power;
    private final DecayOrigin origin;

    private LearningRateSchedule(Builder b) {
        this.peak = b.peak;
        this.end = b.end;
        this.warmupSteps = b.warmupSteps;
        this.totalSteps = b.totalSteps;
        this.decay = b.decay;
        this.power = b.power;
        this.origin = b.origin;
    }

    /**
     * @param lr the learning rate at every step
     * @return a constant schedule without warm-up
     */
    public static LearningRateSchedule constant(double lr) {
        return builder().peak(lr).build();
    }

    /** @return a builder: constant at the peak, no warm-up, until a decay is chosen */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * @param step the number of the update about to be taken (1 for the first), &gt;= 0
     * @return the learning rate for it
     */
    public double lr(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("lr(step): step = " + step + " must be >= 0; the first update is step 1");
        }
        if (step <= warmupSteps && warmupSteps > 0) {
            return peak * step / warmupSteps;
        }
        if (decay == Decay.CONSTANT) {
            return peak;
        }
        double progress = origin == DecayOrigin.WARMUP_END
                ? (double) (step - warmupSteps) / (totalSteps - warmupSteps)
                : (double) step / totalSteps;
        double remaining = 1 - Math.min(1, progress);
        return end + (peak - end) * Math.pow(remaining, power);
    }

    /** @return the peak learning rate */
    public double peak() {
        return peak;
    }

    /** @return the number of warm-up steps */
    public long warmupSteps() {
        return warmupSteps;
    }

    /** @return the step at which decay reaches the end value (0 for a constant schedule) */
    public long totalSteps() {
        return totalSteps;
    }

    @Override
    public String toString() {
        return "LearningRateSchedule(peak=" + peak + ", warmup=" + warmupSteps
                + (decay == Decay.CONSTANT ? ", constant" : ", decay^" + power + " to " + end + " at " + totalSteps + " from " + origin)
                + ")";
    }

    /** Builds a {@link LearningRateSchedule}; validated in {@link #build()}. Thread safety: not thread-safe. */
    public static final class Builder {
        private double peak = Double.NaN;
        private double end;
        private long warmupSteps;
        private long totalSteps;
        private Decay decay = Decay.CONSTANT;
        private double power = 1;
        private DecayOrigin origin = DecayOrigin.WARMUP_END;

        private Builder() {}

        /**
         * @param peak the learning rate reached at the end of warm-up, &gt; 0 (required)
         * @return this builder
         */
        public Builder peak(double peak) {
            this.peak = peak;
            return this;
        }

        /**
         * @param warmupSteps number of linear warm-up steps, &gt;= 0 (default 0)
         * @return this builder
         */
        public Builder warmupSteps(long warmupSteps) {
            this.warmupSteps = warmupSteps;
            return this;
        }

        /**
         * Stays at the peak after warm-up (the default).
         *
         * @return this builder
         */
        public Builder constant() {
            this.decay = Decay.CONSTANT;
            this.totalSteps = 0;
            this.power = 1;
            return this;
        }

        /**
         * Decays linearly to the end value at {@code totalSteps}.
         *
         * @param totalSteps the step at which the end value is reached
         * @return this builder
         */
        public Builder linearDecay(long totalSteps) {
            return polynomialDecay(totalSteps, 1);
        }

        /**
         * Decays as {@code (1 − progress)^power} to the end value at {@code totalSteps}.
         *
         * @param totalSteps the step at which the end value is reached
         * @param power the exponent, &gt; 0 (1 is linear, NVIDIA's BERT LAMB uses 0.5)
         * @return this builder
         */
        public Builder polynomialDecay(long totalSteps, double power) {
            this.decay = Decay.POLYNOMIAL;
            this.totalSteps = totalSteps;
            this.power = power;
            return this;
        }

        /**
         * @param end the learning rate at and after {@code totalSteps}, in [0, peak] (default 0)
         * @return this builder
         */
        public Builder end(double end) {
            this.end = end;
            return this;
        }

        /**
         * @param origin where decay progress is counted from (default {@link DecayOrigin#WARMUP_END})
         * @return this builder
         */
        public Builder decayOrigin(DecayOrigin origin) {
            this.origin = origin;
            return this;
        }

        /** @return the validated schedule */
        public LearningRateSchedule build() {
            if (!(peak > 0 && Double.isFinite(peak))) {
                throw new IllegalArgumentException("learning rate schedule: peak = " + peak
                        + " must be finite and > 0; set it with peak(...), e.g. 1e-4 for BERT with AdamW");
            }
            if (warmupSteps < 0) {
                throw new IllegalArgumentException("learning rate schedule: warmupSteps = " + warmupSteps
                        + " must be >= 0; BERT warms up for 1% of training (10000 of 1000000 steps)");
            }
            if (origin == null) {
                throw new IllegalArgumentException("learning rate schedule: decayOrigin is null; pass WARMUP_END or TRAINING_START");
            }
            if (decay == Decay.POLYNOMIAL) {
                if (totalSteps <= warmupSteps) {
                    throw new IllegalArgumentException("learning rate schedule: totalSteps = " + totalSteps
                            + " must exceed warmupSteps = " + warmupSteps + " for a decaying schedule;"
                            + " pass the training length to linearDecay/polynomialDecay or shorten the warm-up");
                }
                if (!(power > 0 && Double.isFinite(power))) {
                    throw new IllegalArgumentException("learning rate schedule: power = " + power
                            + " must be finite and > 0; 1 is linear, 0.5 is NVIDIA's BERT LAMB setting");
                }
                if (!(end >= 0 && end <= peak)) {
                    throw new IllegalArgumentException("learning rate schedule: end = " + end + " must be in [0, peak = "
                            + peak + "]; it is the final learning rate, usually 0");
                }
            } else if (end != 0) {
                throw new IllegalArgumentException("learning rate schedule: end = " + end
                        + " is set but the schedule is constant; choose linearDecay or polynomialDecay, or drop end(...)");
            }
            return new LearningRateSchedule(this);
        }
    }
}
