package io.tessera.optim.plan;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Model-state memory per GPU for a parallel layout and a ZeRO stage, following Rajbhandari et al.,
 * "ZeRO: Memory Optimizations Toward Training Trillion Parameter Models" (arXiv:1910.02054), §5.
 *
 * <p>Ψ is the number of parameters one model-parallel rank holds (one tensor-parallel shard of one
 * pipeline stage); the data-parallel degree is {@code Nd = gpus / (tp · pp)}. With b<sub>p</sub>,
 * b<sub>g</sub> bytes per parameter and gradient and K bytes of optimiser state per parameter
 * ({@link TrainingPrecision}: 2, 2, 12 for mixed-precision Adam; 4, 4, 8 for fp32):
 *
 * <pre>
 * stage 0 (plain data parallelism)       b_p·Ψ + b_g·Ψ    + K·Ψ        (2+2+K)Ψ
 * stage 1 (optimiser states partitioned) b_p·Ψ + b_g·Ψ    + K·Ψ/Nd     2Ψ + 2Ψ + KΨ/Nd
 * stage 2 (+ gradients partitioned)      b_p·Ψ + b_g·Ψ/Nd + K·Ψ/Nd     2Ψ + (2+K)Ψ/Nd
 * stage 3 (+ parameters partitioned)     b_p·Ψ/Nd + b_g·Ψ/Nd + K·Ψ/Nd  (2+2+K)Ψ/Nd
 * </pre>
 *
 * A partitioned state holds {@code ceil(Ψ/Nd)} elements per GPU: a flat buffer padded to a multiple of
 * Nd gives every rank the same share.
 *
 * <p>Ψ comes either exactly, with {@link Builder#setParametersPerRank(long)} (for tensor parallelism
 * alone, {@code ParameterCount.perTensorParallelRank()} in the models module counts the replicated
 * LayerNorms, biases and position embeddings on every rank), or approximately, with
 * {@link Builder#setTotalParameters(long)}: {@code Ψ = ceil(total / (tp · pp))}. The approximation
 * ignores the replicated parameters (under-counting Ψ by a fraction of a percent for large models) and
 * the uneven split of embeddings and heads across pipeline stages.
 *
 * <pre>{@code
 * ModelStateBytes m = MemoryPlan.builder()
 *         .setTotalParameters(17_176_845_728L).setNumHeads(28)
 *         .setGpus(256).optTensorParallel(4).setZeroStage(1)
 *         .build().perGpu();
 * m.fits(32L << 30); // true: about 18.0 GB of model states per GPU
 * }</pre>
 *
 * <p>Thread safety: immutable, safe to share between threads.
 */
public final class MemoryPlan {

    private final long parametersPerRank;
    private final int numHeads;
    private final int gpus;
    private final int tensorParallel;
    private final int pipelineParallel;
    private final int zeroStage;
    private final TrainingPrecision precision;
    private final ModelStateBytes perGpu;

    private MemoryPlan(long parametersPerRank, Builder b) {
        this.parametersPerRank = parametersPerRank;
        this.numHeads = b.numHeads;
        this.gpus = b.gpus;
        this.tensorParallel = b.tensorParallel;
        this.pipelineParallel = b.pipelineParallel;
        this.zeroStage = b.zeroStage;
        this.precision = b.precision;
        long shard = ceilDiv(parametersPerRank, dataParallel());
        long psi = parametersPerRank;
        this.perGpu = new ModelStateBytes(
                precision.parameterBytes() * (zeroStage >= 3 ? shard : psi),
                precision.gradientBytes() * (zeroStage >= 2 ? shard : psi),
                precision.optimizerStateBytes() * (zeroStage >= 1 ? shard : psi));
    }

    /**
     * A new builder; tensor and pipeline parallelism default to 1 and precision to
     * {@link TrainingPrecision#MIXED_FP16}.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** @return model-state bytes held by each GPU */
    public ModelStateBytes perGpu() {
        return perGpu;
    }

    /** @return Ψ, the parameters of one model-parallel rank */
    public long parametersPerRank() {
        return parametersPerRank;
    }

    /** @return Nd = gpus / (tensorParallel · pipelineParallel) */
    public int dataParallel() {
        return gpus / (tensorParallel * pipelineParallel);
    }

    /** @return the total number of GPUs */
    public int gpus() {
        return gpus;
    }

    /** @return the tensor-parallel degree */
    public int tensorParallel() {
        return tensorParallel;
    }

    /** @return the pipeline-parallel degree */
    public int pipelineParallel() {
        return pipelineParallel;
    }

    /** @return the attention heads the tensor-parallel degree was checked against */
    public int numHeads() {
        return numHeads;
    }

    /** @return the ZeRO stage, 0 to 3 */
    public int zeroStage() {
        return zeroStage;
    }

    /** @return the training precision */
    public TrainingPrecision precision() {
        return precision;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT,
                "MemoryPlan[Ψ=%,d per rank, gpus=%d = tp %d × pp %d × Nd %d, ZeRO-%d, %s: params %,d B + grads %,d B"
                        + " + optimizer %,d B = %,d B per GPU]",
                parametersPerRank, gpus, tensorParallel, pipelineParallel, dataParallel(), zeroStage, precision,
                perGpu.parameters(), perGpu.gradients(), perGpu.optimizerStates(), perGpu.total());
    }

    /** {@code ceil(a / b)} for {@code a >= 0, b > 0}, without overflow. */
    static long ceilDiv(long a, long b) {
        return a / b + (a % b == 0 ? 0 : 1);
    }

    /**
     * Collects a {@link MemoryPlan}'s inputs; {@code set*} methods are required, {@code opt*} optional.
     * Exactly one of {@link #setParametersPerRank(long)} and {@link #setTotalParameters(long)} must be
     * called.
     *
     * <p>Thread safety: not thread-safe; confine a builder to one thread.
     */
    public static final class Builder {

        private long parametersPerRank;
        private long totalParameters;
        private int numHeads;
        private int gpus;
        private int tensorParallel = 1;
        private int pipelineParallel = 1;
        private int zeroStage = -1;
        private TrainingPrecision precision = TrainingPrecision.MIXED_FP16;

        private Builder() {}

        /**
         * Sets Ψ exactly: the parameters one model-parallel rank holds.
         *
         * @param parametersPerRank Ψ, positive
         * @return this builder
         */
        public Builder setParametersPerRank(long parametersPerRank) {
            this.parametersPerRank = parametersPerRank;
            return this;
        }

        /**
         * Sets the model's total parameters; Ψ is then {@code ceil(total / (tp · pp))} (see the class
         * comment for what that approximation leaves out).
         *
         * @param totalParameters all parameters of the model, positive
         * @return this builder
         */
        public Builder setTotalParameters(long totalParameters) {
            this.totalParameters = totalParameters;
            return this;
        }

        /**
         * Sets the number of attention heads, which the tensor-parallel degree must divide.
         *
         * @param numHeads attention heads, positive
         * @return this builder
         */
        public Builder setNumHeads(int numHeads) {
            this.numHeads = numHeads;
            return this;
        }

        /**
         * Sets the total number of GPUs (the world size).
         *
         * @param gpus GPUs, a multiple of tensorParallel · pipelineParallel
         * @return this builder
         */
        public Builder setGpus(int gpus) {
            this.gpus = gpus;
            return this;
        }

        /**
         * Sets the ZeRO stage.
         *
         * @param zeroStage 0 (none), 1 (optimiser states), 2 (+ gradients) or 3 (+ parameters)
         * @return this builder
         */
        public Builder setZeroStage(int zeroStage) {
            this.zeroStage = zeroStage;
            return this;
        }

        /**
         * Overrides the tensor-parallel degree (default 1).
         *
         * @param tensorParallel ranks one layer is split over
         * @return this builder
         */
        public Builder optTensorParallel(int tensorParallel) {
            this.tensorParallel = tensorParallel;
            return this;
        }

        /**
         * Overrides the pipeline-parallel degree (default 1).
         *
         * @param pipelineParallel pipeline stages
         * @return this builder
         */
        public Builder optPipelineParallel(int pipelineParallel) {
            this.pipelineParallel = pipelineParallel;
            return this;
        }

        /**
         * Overrides the training precision (default {@link TrainingPrecision#MIXED_FP16}).
         *
         * @param precision bytes per parameter of each state
         * @return this builder
         */
        public Builder optPrecision(TrainingPrecision precision) {
            this.precision = Objects.requireNonNull(precision, "precision");
            return this;
        }

        /**
         * Validates the inputs and computes the plan.
         *
         * @return the plan
         * @throws IllegalArgumentException listing every invalid input with its value, the rule it breaks
         *     and a fix
         */
        public MemoryPlan build() {
            List<String> p = new ArrayList<>();
            if ((parametersPerRank != 0) == (totalParameters != 0)) {
                p.add(parametersPerRank == 0
                        ? "no parameter count: call setParametersPerRank(..) with Ψ per model-parallel rank"
                                + " or setTotalParameters(..) with the model's total"
                        : "both parametersPerRank = " + parametersPerRank + " and totalParameters = " + totalParameters
                                + " are set: call only one of setParametersPerRank(..) and setTotalParameters(..)");
            }
            if (parametersPerRank < 0 || totalParameters < 0) {
                p.add("parameter count " + Math.min(parametersPerRank, totalParameters)
                        + " is negative: it must be positive");
            }
            if (numHeads <= 0) {
                p.add("numHeads = " + numHeads
                        + " must be positive: call setNumHeads(..) with the model's attention heads");
            }
            if (gpus <= 0) {
                p.add("gpus = " + gpus + " must be positive: call setGpus(..) with the world size");
            }
            if (tensorParallel <= 0) {
                p.add("tensorParallel = " + tensorParallel + " must be >= 1; use 1 for no tensor parallelism");
            }
            if (pipelineParallel <= 0) {
                p.add("pipelineParallel = " + pipelineParallel + " must be >= 1; use 1 for no pipeline parallelism");
            }
            if (zeroStage < 0 || zeroStage > 3) {
                p.add(zeroStage == -1 ? "zeroStage is not set: call setZeroStage(..) with 0, 1, 2 or 3"
                        : "zeroStage = " + zeroStage + " is not a ZeRO stage: use 0 (none), 1 (optimizer states),"
                                + " 2 (+ gradients) or 3 (+ parameters)");
            }
            long modelParallel = (long) Math.max(tensorParallel, 1) * Math.max(pipelineParallel, 1);
            if (gpus > 0 && tensorParallel > 0 && pipelineParallel > 0 && gpus % modelParallel != 0) {
                long below = gpus / modelParallel * modelParallel;
                p.add("gpus = " + gpus + " is not divisible by tensorParallel × pipelineParallel = " + tensorParallel
                        + " × " + pipelineParallel + " = " + modelParallel
                        + ": the data-parallel degree gpus / (tp × pp) must be a whole number; use a multiple of "
                        + modelParallel + " GPUs (e.g. " + (below > 0 ? below + " or " : "") + (below + modelParallel)
                        + ") or change the parallel degrees");
            }
            if (numHeads > 0 && tensorParallel > 0 && numHeads % tensorParallel != 0) {
                p.add("tensorParallel = " + tensorParallel + " does not divide numHeads = " + numHeads
                        + ": each tensor-parallel rank computes whole attention heads; choose tensorParallel from "
                        + divisors(numHeads));
            }
            long psi = parametersPerRank != 0 ? parametersPerRank : ceilDiv(totalParameters, modelParallel);
            int maxBytes = Math.max(TrainingPrecision.MIXED_FP16.totalBytes(), TrainingPrecision.FP32.totalBytes());
            if (psi > Long.MAX_VALUE / maxBytes) {
                p.add("parameters per rank Ψ = " + psi + " is too large: " + maxBytes
                        + "·Ψ bytes would overflow a long; check the count (it is in parameters, not bytes)");
            }
            if (!p.isEmpty()) {
                throw new IllegalArgumentException("invalid MemoryPlan:\n  - " + String.join("\n  - ", p));
            }
            return new MemoryPlan(psi, this);
        }

        private static List<Integer> divisors(int n) {
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
    }
}
