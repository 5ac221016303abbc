package io.tessera.optim.plan;

import io.tessera.parallel.pipeline.ScheduleKind;
import java.util.Locale;

/**
 * Activation memory per GPU of a Transformer's layers, by Korthikanti et al., "Reducing Activation
 * Recomputation in Large Transformer Models" (2022), Table 2 and Section 4.2: 16-bit activations,
 * 1-byte dropout masks, s sequence, b micro-batch, h hidden, a heads, t tensor-parallel degree.
 *
 * <pre>
 *   bytes per layer and micro-batch
 *     no recomputation, tp only               s·b·h·(10 + 24/t + 5·a·s/(h·t))
 *     no recomputation, tp + sequence par.    s·b·h·(34 + 5·a·s/h) / t
 *     selective recomputation, tp only        s·b·h·(10 + 24/t)
 *     selective recomputation, tp + seq. par. s·b·h·34 / t
 *     full recomputation                      2·s·b·h (/t with sequence parallelism): the layer's input only
 *
 *   layers held by the first pipeline stage, the most loaded
 *     1F1B          L/p layers × p micro-batches in flight  = L layers' worth
 *     interleaved   L · (1 + (p−1)/(p·v))
 *     GPipe         L/p layers × m micro-batches
 * </pre>
 * Not counted: the embedding's and the output layer's activations (Korthikanti et al.'s small extra terms),
 * temporary buffers and fragmentation.
 *
 * <p>This is the estimate for 16-bit GPU kernels. What Tessera's own layers hold with fp32 activations
 * on the CPU is about twice its fp32 equivalent, because a tape node keeps every tensor its ops create;
 * {@link TesseraCpuActivations} accounts for that and is checked against measured resident memory.
 *
 * <p>Thread safety: immutable.
 *
 * @param seq s
 * @param microBatch b
 * @param hidden h
 * @param heads a
 * @param layers L
 * @param tensorParallel t
 * @param pipeline p
 * @param virtualStages v
 * @param microBatches m, per optimizer step and pipeline
 * @param schedule the pipeline schedule
 * @param sequenceParallel whether the regions outside the tensor-parallel products are split over the sequence
 * @param recompute none, selective (attention scores and softmax recomputed) or full
 */
public record ActivationMemory(int seq, int microBatch, int hidden, int heads, int layers, int tensorParallel, int pipeline,
                               int virtualStages, int microBatches, ScheduleKind schedule, boolean sequenceParallel,
                               Recompute recompute) {

    /** Which activations backward recomputes instead of keeping. */
    public enum Recompute {
        /** keep every activation */
        NONE,
        /** recompute the attention score, softmax and its dropout (the 5·a·s/h term) */
        SELECTIVE,
        /** keep each layer's input only, recompute the layer in backward */
        FULL;

        /**
         * @param flag none, selective or full
         * @return the value
         * @throws IllegalArgumentException for another word, naming it and the choices
         */
        public static Recompute parse(String flag) {
            for (Recompute r : values()) {
                if (r.name().equalsIgnoreCase(flag)) {
                    return r;
                }
            }
            throw new IllegalArgumentException("--recompute-activations " + flag + ": choose none, selective or full");
        }
    }

    /**
     * @throws IllegalArgumentException if a size is not positive, layers do not split over p·v, 1F1B has
     *     fewer micro-batches than stages, or sequence parallelism is asked without tensor parallelism
     */
    public ActivationMemory {
        for (int v : new int[] {seq, microBatch, hidden, heads, layers, tensorParallel, pipeline, virtualStages, microBatches}) {
            if (v < 1) {
                throw new IllegalArgumentException("activation memory: every size must be at least 1, got " + v);
            }
        }
        if (layers % (pipeline * virtualStages) != 0) {
            throw new IllegalArgumentException(layers + " layers do not split over --pp " + pipeline + " × --virtual-stages "
                    + virtualStages + " = " + pipeline * virtualStages + " model chunks; choose degrees whose product divides the layers");
        }
        if (schedule != ScheduleKind.GPIPE && microBatches < pipeline) {
            throw new IllegalArgumentException(schedule.flag() + " needs at least as many micro-batches as stages: " + microBatches
                    + " micro-batches for --pp " + pipeline + "; raise the global batch or use fewer stages");
        }
        if (sequenceParallel && tensorParallel == 1) {
            throw new IllegalArgumentException("--sequence-parallel splits activations over the tensor-parallel group, but --tp is 1;"
                    + " use --tp 2 or more, or drop --sequence-parallel");
        }
        java.util.Objects.requireNonNull(schedule, "schedule");
        java.util.Objects.requireNonNull(recompute, "recompute");
    }

    /** @return bytes of one layer's activations for one micro-batch on one GPU */
    public double perLayerBytes() {
        double sbh = (double) seq * microBatch * hidden;
        double t = tensorParallel;
        double attention = 5.0 * heads * seq / hidden;
        switch (recompute) {
            case FULL:
                return 2 * sbh / (sequenceParallel ? t : 1);
            case SELECTIVE:
                return sequenceParallel ? sbh * 34 / t : sbh * (10 + 24 / t);
            default:
                return sequenceParallel ? sbh * (34 + attention) / t : sbh * (10 + 24 / t + attention / t);
        }
    }

    /** @return layer-micro-batches of activations the first (most loaded) pipeline stage holds at its peak */
    public double layersHeld() {
        double perStage = (double) layers / pipeline;
        switch (schedule) {
            case GPIPE:
                return perStage * microBatches;
            case INTERLEAVED:
                return layers * (1 + (pipeline - 1.0) / (pipeline * virtualStages));
            default:
                return perStage * Math.min(pipeline, microBatches);
        }
    }

    /** @return activation bytes per GPU at the peak of the first stage */
    public double bytes() {
        return perLayerBytes() * layersHeld();
    }

    /** @return one line for {@code plan}: the total, the per-layer figure and what it assumes */
    public String describe() {
        return String.format(Locale.ROOT, "%8.2f GB per GPU (%s; %.1f MB per layer and micro-batch × %.1f held, %s recomputation%s)",
                bytes() / 1e9, "Korthikanti et al. 2022", perLayerBytes() / 1e6, layersHeld(), recompute.name().toLowerCase(Locale.ROOT),
                sequenceParallel ? ", sequence parallel" : "");
    }
}
