package io.tessera.train;

import ai.djl.ndarray.NDManager;
import io.tessera.core.Compute;
import io.tessera.core.tape.Tape;
import io.tessera.train.data.Batch;
import io.tessera.train.data.DistributedBatchSampler;
import io.tessera.models.LossTerms;
import io.tessera.models.PipelinedModel;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerModel;
import io.tessera.optim.zero.DataParallelOptimizer;
import io.tessera.parallel.ParallelContext;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Held-out evaluation: the first {@code batches} global batches of the held-out set, unshuffled (fixed
 * masks), forward only, at full parameters and in fp32; every term's loss sums and label counts (and
 * correct predictions) summed over the data-parallel group, so the figures are those of one process.
 * A model in pipeline stages runs each micro-batch down its stages ({@link PipelineForward}); the
 * last stage's figures are then shared over the pipeline group.
 *
 * <p>Thread safety: one call at a time per rank; collective over the data-parallel group.
 */
final class Evaluator {

    private final ParallelContext ctx;
    private final DistributedBatchSampler sampler;
    private final int batches;
    private final Task task;
    private final Compute compute;

    /**
     * @param ctx this rank's groups
     * @param sampler the held-out sampler of this data-parallel rank
     * @param batches global batches per evaluation (capped at the held-out set)
     * @param task what the batches hold; perplexity ({@code exp(loss)}) is reported for causal language modelling
     */
    Evaluator(ParallelContext ctx, DistributedBatchSampler sampler, int batches, Task task, Compute compute) {
        this.compute = compute;
        this.ctx = ctx;
        this.sampler = sampler;
        this.batches = Math.min(batches, sampler.stepsPerEpoch());
        this.task = task;
    }

    Evaluation evaluate(TransformerModel model, DataParallelOptimizer dpo, NDManager manager, int step) throws IOException {
        Map<String, double[]> sums = new LinkedHashMap<>(); // term → {loss sum, count, correct, has accuracy}
        boolean pipelined = model.parallel().pipelineSize() > 1;
        dpo.withFullParameters(() -> {
            for (int s = 0; s < batches; s++) {
                for (int m = 0; m < sampler.microBatchesPerStep(); m++) {
                    Batch b = sampler.microBatch(0, s, m);
                    try (NDManager scope = manager.newSubManager(); Tape tape = new Tape(scope, 0, false, false).gemm(compute.gemm())) {
                        TokenBatch batch = BatchTensors.of(scope, b, task);
                        LossTerms terms;
                        if (pipelined) {
                            // Every stage names every term (zeros where it holds no head), so the vectors below line up.
                            model.labelCounts(batch).keySet().forEach(k -> sums.computeIfAbsent(k, x -> new double[4]));
                            terms = PipelineForward.terms((PipelinedModel) model, model.parallel(), model.config().hiddenSize(), tape,
                                    batch, true);
                            if (terms == null) {
                                continue;
                            }
                        } else {
                            terms = model.lossTerms(tape, batch, true);
                        }
                        for (LossTerms.Term t : terms.terms()) {
                            double[] acc = sums.computeIfAbsent(t.name(), k -> new double[4]);
                            if (t.count() > 0) {
                                acc[0] += t.sum().value().getFloat();
                                acc[1] += t.count();
                            }
                            if (t.correct() >= 0) {
                                acc[2] += t.correct();
                                acc[3] = 1;
                            }
                        }
                    }
                }
            }
        });
        List<String> names = List.copyOf(sums.keySet());
        double[] flat = new double[names.size() * 4];
        for (int i = 0; i < names.size(); i++) {
            System.arraycopy(sums.get(names.get(i)), 0, flat, 4 * i, 4);
        }
        double[] global = BatchTensors.allReduceSum(ctx.data(), flat, manager);
        if (pipelined) {
            global = BatchTensors.allReduceSum(ctx.pipeline(), global, manager); // only the last stage's are not zero
        }
        Map<String, Double> losses = new LinkedHashMap<>();
        Map<String, Double> accuracies = new LinkedHashMap<>();
        double loss = 0;
        for (int i = 0; i < names.size(); i++) {
            double count = Math.max(1, global[4 * i + 1]);
            double mean = global[4 * i] / count;
            losses.put(names.get(i), mean);
            loss += mean;
            if (global[4 * i + 3] > 0) {
                accuracies.put(names.get(i), global[4 * i + 2] / count);
            }
        }
        return new Evaluation(step, loss, losses, accuracies, task == Task.GPT2 ? Math.exp(loss) : Double.NaN);
    }
}
