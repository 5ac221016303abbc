package io.tessera.cli;

import io.tessera.models.config.ModelVariant;
import io.tessera.models.config.ParameterCount;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.flops.ModelShape;
import io.tessera.models.flops.TransformerFlops;
import io.tessera.optim.plan.ActivationMemory;
import io.tessera.optim.plan.MemoryPlan;
import io.tessera.optim.plan.TrainingPrecision;
import io.tessera.optim.plan.estimate.Cluster;
import io.tessera.optim.plan.estimate.Estimate;
import io.tessera.optim.plan.estimate.Layout;
import io.tessera.optim.plan.estimate.StepTimeModel;
import io.tessera.parallel.pipeline.ScheduleKind;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * {@code plan --best K}: every layout of a model on a number of GPUs that fits their memory, fastest
 * first by {@link StepTimeModel}. The global batch is fixed, so the layouts do the same work per step.
 *
 * <pre>
 *   tp ∈ powers of 2 ≤ GPUs per node that split the model (heads, hidden, MLP)     Megatron keeps TP inside a node
 *   pp ∈ divisors of L with tp·pp | GPUs;  dp = GPUs / (tp·pp);  m = B / (b·dp) ≥ pp (1F1B), integral
 *   v  ∈ {1, 2} (2: interleaved, when p·v | L and p | m);  ZeRO ∈ {0, 1, 2} (3 without pipeline only)
 *   memory = model states (ZeRO paper, Ψ = parameters of one tp shard / pp) + activations of the first stage
 *            (Korthikanti et al., 1F1B or interleaved, recomputation as --recompute)          ≤ --gpu-memory
 * </pre>
 *
 * <p>Ψ per stage is the tp shard's parameters divided by pp: embeddings and heads are not placed on
 * their stages, so the first and last stage hold somewhat more than this says.
 *
 * <p>Thread safety: stateless.
 */
final class BestLayouts {

    /**
     * One candidate.
     *
     * @param tp tensor-parallel degree
     * @param pp pipeline-parallel degree
     * @param v model chunks per pipeline rank
     * @param dp data-parallel degree
     * @param zero ZeRO stage
     * @param microBatches micro-batches per step
     * @param memoryBytes model states plus activations per GPU
     * @param estimate the predicted step
     */
    record Candidate(int tp, int pp, int v, int dp, int zero, int microBatches, double memoryBytes, Estimate estimate) {}

    private BestLayouts() {}

    /**
     * @param config the model
     * @param gpus devices
     * @param memoryBytes memory per device
     * @param cluster the devices and links
     * @param microBatch sequences per micro-batch
     * @param globalBatch sequences per step
     * @param seq sequence length
     * @param recompute full activation recomputation
     * @param precision bytes of the states and of what is sent
     * @param dpOverlap fraction of backward hiding data-parallel traffic
     * @return the layouts that fit, fastest first
     */
    static List<Candidate> search(TransformerConfig config, int gpus, long memoryBytes, Cluster cluster, int microBatch,
                                  int globalBatch, int seq, boolean recompute, TrainingPrecision precision, double dpOverlap) {
        double perToken = TransformerFlops.trainingPerToken(ModelShape.of(config, 1, seq));
        int layers = config.numLayers();
        List<Candidate> fits = new ArrayList<>();
        for (int tp = 1; tp <= Math.min(gpus, cluster.gpusPerNode()); tp *= 2) {
            if (gpus % tp != 0 || !splits(config, tp)) {
                continue;
            }
            ParameterCount count = ParameterCount.ofPaddedVocab(config, ModelVariant.PRETRAINING_MODEL, tp);
            for (int pp = 1; pp <= layers; pp++) {
                if (layers % pp != 0 || gpus % (tp * pp) != 0) {
                    continue;
                }
                int dp = gpus / (tp * pp);
                if (globalBatch % (microBatch * dp) != 0) {
                    continue;
                }
                int m = globalBatch / (microBatch * dp);
                if (pp > 1 && m < pp) {
                    continue;
                }
                for (int v : pp > 1 && layers % (2 * pp) == 0 && m % pp == 0 ? new int[] {1, 2} : new int[] {1}) {
                    ScheduleKind schedule = v > 1 ? ScheduleKind.INTERLEAVED : ScheduleKind.ONE_F_ONE_B;
                    double activations = new ActivationMemory(seq, microBatch, config.hiddenSize(), config.numHeads(), layers, tp, pp,
                            v, m, schedule, false, recompute ? ActivationMemory.Recompute.FULL : ActivationMemory.Recompute.NONE)
                            .bytes();
                    long perStage = (count.perTensorParallelRank() + pp - 1) / pp;
                    for (int zero = 0; zero <= (pp > 1 ? 2 : 3); zero++) {
                        double states = MemoryPlan.builder().setParametersPerRank(perStage).setNumHeads(config.numHeads())
                                .setGpus(gpus).optTensorParallel(tp).optPipelineParallel(pp).setZeroStage(zero)
                                .optPrecision(precision).build().perGpu().total();
                        if (states + activations > memoryBytes) {
                            continue;
                        }
                        Layout layout = new Layout(perToken, count.total(), layers, config.hiddenSize(), seq, tp, pp, dp, v, zero,
                                microBatch, globalBatch, recompute, dpOverlap, precision.gradientBytes(),
                                EstimateOptions.layerShape(config, tp));
                        fits.add(new Candidate(tp, pp, v, dp, zero, m, states + activations, StepTimeModel.estimate(layout, cluster)));
                    }
                }
            }
        }
        fits.sort(Comparator.comparingDouble((Candidate c) -> c.estimate().stepSeconds()).thenComparingDouble(Candidate::memoryBytes));
        return fits;
    }

    private static boolean splits(TransformerConfig config, int tp) {
        try {
            config.validateFor(tp);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
