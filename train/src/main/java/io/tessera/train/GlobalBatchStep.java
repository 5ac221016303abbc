package io.tessera.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.tessera.core.Compute;
import io.tessera.core.Rng;
import io.tessera.core.Scalars;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.LossTerms;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerModel;
import io.tessera.optim.zero.DataParallelOptimizer;
import io.tessera.optim.zero.MicroBatch;
import io.tessera.parallel.ParallelContext;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The forward and backward passes of one optimizer step over this rank's micro-batches, normalised by
 * the label counts of the <em>global</em> batch: what every recipe (pretraining, fine-tuning,
 * distillation) runs before {@code optimizer.step}.
 *
 * <pre>
 *   counts_term = Σ_{ranks r, micro-batches m} labelCounts(batch_{r,m})[term]      (one all-reduce of a few numbers)
 *   for m in this rank's micro-batches:                                            (tape seed: mix(seed, step, dp rank, m))
 *     try (MicroBatch mb = optimizer.microBatch(tape, m == last)) {
 *       mb.backward(Σ_terms weight_term · lossTerms(batch_m)[term].sum / counts_term)
 *     }
 *   reported loss = Σ_terms weight_term · (Σ_{r,m} sum_term / counts_term)          (one more all-reduce)
 * </pre>
 *
 * <p>Gradients summed over micro-batches and ranks are then those of one process on the whole global
 * batch, whatever the layout. A micro-batch without any label still runs backward (a zero loss) so that
 * its gradient buckets are reduced with everyone else's.
 *
 * <p>Thread safety: not thread-safe; one per rank.
 */
public final class GlobalBatchStep {

    /**
     * The step's loss over the global batch.
     *
     * @param loss Σ over terms of each term's weight times its mean over the global batch's labelled positions
     * @param terms each term's mean (unweighted), by name
     */
    public record Loss(double loss, Map<String, Double> terms) {}

    private final TrainingObjective objective;
    private final DataParallelOptimizer optimizer;
    private final ParallelContext ctx;
    private final Compute compute;
    private final long seed;

    /**
     * @param model the model (any family or head: it returns its {@link LossTerms})
     * @param optimizer its data-parallel optimizer
     * @param compute the run's GEMM strategy, set on every micro-batch's tape
     * @param seed the run's seed: micro-batch {@code m} of step {@code s} on data-parallel rank {@code r}
     *     draws its dropout from {@code Rng.mix(seed, s, r, m)}
     */
    public GlobalBatchStep(TransformerModel model, DataParallelOptimizer optimizer, Compute compute, long seed) {
        this(TrainingObjective.of(model), model.parallel(), optimizer, compute, seed);
    }

    /**
     * @param objective what the steps minimise over the trained model
     * @param ctx the trained model's parallel context
     * @param optimizer the trained model's data-parallel optimizer
     * @param compute the run's GEMM strategy
     * @param seed the run's seed (dropout streams as above)
     */
    public GlobalBatchStep(TrainingObjective objective, ParallelContext ctx, DataParallelOptimizer optimizer, Compute compute,
                           long seed) {
        this.objective = Objects.requireNonNull(objective, "objective");
        this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
        this.ctx = Objects.requireNonNull(ctx, "ctx");
        this.compute = Objects.requireNonNull(compute, "compute");
        this.seed = seed;
    }

    /**
     * Runs the passes; the caller then calls {@code optimizer.step(lr, clip)}.
     *
     * @param step the 0-based step (for the dropout seeds and messages)
     * @param batches this rank's micro-batches of the step, in order (tensors owned by the caller's scope)
     * @param manager the scope of the step's scratch tensors
     * @return the step's global loss
     * @throws IllegalStateException if no position of the global batch carries a label
     */
    public Loss run(int step, List<TokenBatch> batches, NDManager manager) {
        if (batches.isEmpty()) {
            throw new IllegalArgumentException("step " + (step + 1) + ": no micro-batch; a step needs at least one");
        }
        GlobalCounts counts = GlobalCounts.of(objective::labelCounts, batches, ctx, manager);
        List<String> names = counts.names();
        double[] global = counts.global();
        double[] sums = new double[names.size()];
        double[] weights = new double[names.size()];
        int micro = batches.size();
        for (int m = 0; m < micro; m++) {
            try (NDManager scope = manager.newSubManager();
                 Tape tape = new Tape(scope, Rng.mix(seed, step, ctx.dataRank(), m), true).gemm(compute.gemm());
                 MicroBatch mb = optimizer.microBatch(tape, m == micro - 1)) {
                LossTerms terms = objective.lossTerms(tape, batches.get(m));
                mb.backward(globallyNormalised(tape, terms, names, global, sums, weights, step));
            }
        }
        double[] total = BatchTensors.allReduceSum(ctx.data(), sums, manager);
        Map<String, Double> perTerm = new LinkedHashMap<>();
        double loss = 0;
        for (int i = 0; i < names.size(); i++) {
            perTerm.put(names.get(i), total[i]);
            loss += weights[i] * total[i];
        }
        return new Loss(loss, perTerm);
    }

    /**
     * Each term's label count summed over this rank's micro-batches and the data-parallel group.
     *
     * @param names the terms, in the objective's order
     * @param global their counts over the global batch
     */
    record GlobalCounts(List<String> names, double[] global) {
        static GlobalCounts of(java.util.function.Function<TokenBatch, Map<String, Long>> labelCounts, List<TokenBatch> batches,
                               ParallelContext ctx, NDManager manager) {
            Map<String, Long> counts = new LinkedHashMap<>();
            for (TokenBatch tb : batches) {
                labelCounts.apply(tb).forEach((term, n) -> counts.merge(term, n, Long::sum));
            }
            List<String> names = List.copyOf(counts.keySet());
            return new GlobalCounts(names, BatchTensors.allReduceSum(ctx.data(), names.stream().mapToDouble(counts::get).toArray(),
                    manager));
        }
    }

    /**
     * {@code Σ_terms weight · sum / global count} on the tape; adds each term's unweighted share to {@code sums}
     * and records its weight in {@code weights}, for reporting.
     */
    static Var globallyNormalised(Tape tape, LossTerms terms, List<String> names, double[] global, double[] sums,
                                          double[] weights, int step) {
        List<Var> parts = new ArrayList<>();
        List<Double> scales = new ArrayList<>();
        for (LossTerms.Term t : terms.terms()) {
            int i = names.indexOf(t.name());
            weights[i] = t.weight();
            if (t.count() == 0) {
                continue;
            }
            double scale = 1.0 / global[i];
            parts.add(t.sum());
            scales.add(t.weight() * scale);
            sums[i] += t.sum().value().getFloat() * scale;
        }
        if (parts.isEmpty()) {
            if (Arrays.stream(global).allMatch(n -> n == 0)) {
                throw new IllegalStateException("step " + (step + 1) + ": no position of the global batch carries a label (terms "
                        + terms.names() + " all count 0); check the dataset's labels");
            }
            // A micro-batch may hold no label while the step has some (masked-LM only: a short pack can draw no masked
            // token); it adds nothing to the gradients, and backward still runs so that its buckets are reduced.
            return tape.variable(tape.manager().create(0f));
        }
        return tape.apply1("loss.global-normalised", false, (c, in) -> {
            NDArray acc = in.get(0).mul(Scalars.of(in.get(0), scales.get(0)));
            for (int k = 1; k < in.size(); k++) {
                acc = acc.add(in.get(k).mul(Scalars.of(in.get(k), scales.get(k))));
            }
            return new NDList(acc);
        }, parts.toArray(new Var[0]));
    }
}
