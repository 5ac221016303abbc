package io.tessera.benchmarks.step;

import io.tessera.models.flops.ModelShape;
import io.tessera.models.config.TransformerConfig;
import io.tessera.optim.amp.Precision;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What one rank trains in a benchmark step: the model, the per-rank batch and the optimizer.
 *
 * <p>Thread safety: immutable.
 *
 * @param config the model configuration (layers already overridden)
 * @param label the model's name in reports, e.g. {@code bert-base/L2}
 * @param batch sequences per rank per step
 * @param seq tokens per sequence
 * @param optimizer {@code adamw} or {@code lamb}
 * @param learningRate the constant learning rate
 * @param maxGradNorm gradient clipping threshold (≤ 0: no clipping; the norm is computed either way)
 * @param seed model and data seed
 * @param precision compute precision: fp32, or fp16 with fp32 master weights and dynamic loss scaling
 *     ({@link Precision#BF16} is refused: DJL 0.35.1 has no bf16 tensors)
 */
public record StepSpec(TransformerConfig config, String label, int batch, int seq, String optimizer, double learningRate,
                       double maxGradNorm, long seed, Precision precision) {

    /** The optimizers a step can use. */
    public static final List<String> OPTIMIZERS = List.of("adamw", "lamb");

    /**
     * @throws IllegalArgumentException naming every field that breaks its rule, with a fix
     */
    public StepSpec {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(label, "label");
        optimizer = Objects.requireNonNull(optimizer, "optimizer").toLowerCase(Locale.ROOT);
        List<String> problems = new ArrayList<>();
        if (batch < 1) {
            problems.add("batch = " + batch + " must be at least 1 sequence per rank");
        }
        if (seq < 1 || seq > config.maxPositions()) {
            problems.add("seq = " + seq + " must lie in [1, " + config.maxPositions() + "] (the model's maxPositions)");
        }
        if (!OPTIMIZERS.contains(optimizer)) {
            problems.add("optimizer = " + optimizer + ": use one of " + OPTIMIZERS);
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            problems.add("learningRate = " + learningRate + " must be a positive number, e.g. 1e-4");
        }
        if (Double.isNaN(maxGradNorm)) {
            problems.add("maxGradNorm is NaN; use 1.0 (BERT's setting) or 0 for no clipping");
        }
        Objects.requireNonNull(precision, "precision");
        if (precision == Precision.BF16) {
            problems.add(Precision.unsupportedMessage());
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid step spec:\n  - " + String.join("\n  - ", problems));
        }
    }

    /**
     * An fp32 step.
     *
     * @param config the model configuration
     * @param label the model's name in reports
     * @param batch sequences per rank per step
     * @param seq tokens per sequence
     * @param optimizer {@code adamw} or {@code lamb}
     * @param learningRate the constant learning rate
     * @param maxGradNorm gradient clipping threshold
     * @param seed model and data seed
     */
    public StepSpec(TransformerConfig config, String label, int batch, int seq, String optimizer, double learningRate,
                    double maxGradNorm, long seed) {
        this(config, label, batch, seq, optimizer, learningRate, maxGradNorm, seed, Precision.FP32);
    }

    /** @return the FLOP-relevant shape of one rank's step */
    public ModelShape shape() {
        return ModelShape.of(config, batch, seq);
    }

    /** @return tokens per rank per step, {@code batch · seq} */
    public long tokensPerStep() {
        return (long) batch * seq;
    }
}
