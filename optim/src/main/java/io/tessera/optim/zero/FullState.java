package io.tessera.optim.zero;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Tensors;
import io.tessera.core.Torch;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.optim.Optimizer;
import io.tessera.optim.amp.DynamicLossScaler;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.ReduceOp;
import java.io.IOException;
import java.util.List;
import java.util.Locale;

/**
 * One tensor-parallel rank's whole training state, whatever the ZeRO stage: flat arrays laid out like
 * the {@link ParameterBuffer} (every parameter at {@link ParameterBuffer#offset}), so that a checkpoint
 * can be re-split for another data-parallel degree or stage.
 *
 * <pre>
 *   gather:  parameters ◀── withFullParameters (stage 3 all-gathers its pieces)
 *            m, v       ◀── each rank copies its optimizers' pieces into zero-filled flat arrays,
 *                           all-reduce SUM over the data-parallel group (pieces are disjoint: exact)
 *   load:    each rank copies its own pieces back (stage 3 its parameter pieces too); no communication
 * </pre>
 *
 * <p>Thread safety: immutable references to arrays the caller owns.
 *
 * @param params the parameters
 * @param firstMoment the optimizer's first moments ({@code m}; zeros where no optimizer has stepped)
 * @param secondMoment the second moments ({@code v})
 * @param optimizerSteps steps every optimizer has taken (they step together)
 * @param lossScaler {@code [scale, clean steps, skipped steps]} of an fp16 run, else null
 */
public record FullState(NDArray params, NDArray firstMoment, NDArray secondMoment, long optimizerSteps, double[] lossScaler) {

    /**
     * Collective: every data-parallel rank calls it.
     *
     * @param dpo the optimizer
     * @param owner manager of the returned arrays
     * @return the state, in fp32 on the rank's device
     * @throws IOException never in practice (the gather's callback does no I/O)
     */
    static FullState gather(DataParallelOptimizer dpo, NDManager owner) throws IOException {
        ParameterBuffer buffer = dpo.buffer();
        Shape flat = new Shape(buffer.numel());
        NDArray params = owner.zeros(flat, DataType.FLOAT32);
        NDArray m = owner.zeros(flat, DataType.FLOAT32);
        NDArray v = owner.zeros(flat, DataType.FLOAT32);
        try (Torch.GradMode g = Torch.gradMode(false)) {
            dpo.withFullParameters(() -> Tensors.copyInto(params, buffer.params()));
            List<Optimizer> opts = dpo.stageOptimizers();
            long steps = opts.isEmpty() ? 0 : opts.get(0).state().steps();
            for (Optimizer o : opts) {
                if (o.state().steps() != steps) {
                    throw new IllegalStateException("optimizers of one stage have taken " + steps + " and " + o.state().steps()
                            + " steps; they always step together, so the state is corrupt");
                }
                try (NDArray mv = o.range().view(m); NDArray vv = o.range().view(v)) {
                    Tensors.copyInto(mv, o.state().firstMoment());
                    Tensors.copyInto(vv, o.state().secondMoment());
                }
            }
            Communicator dp = dpo.dataParallelGroup();
            if (dpo.stage() > 0 && dp.size() > 1) {
                dp.allReduce(m, ReduceOp.SUM);
                dp.allReduce(v, ReduceOp.SUM);
            }
            DynamicLossScaler scaler = dpo.scaler();
            double[] scalerState = scaler == null ? null : new double[] {scaler.scale(), scaler.cleanSteps(), scaler.skippedSteps()};
            return new FullState(params, m, v, steps, scalerState);
        }
    }

    /**
     * Sets the optimizer's state from this one: each rank keeps its own pieces.
     *
     * @param dpo the optimizer, at any stage and data-parallel degree with the same tensor-parallel split
     * @throws IllegalArgumentException if the sizes differ, or the loss-scaler state is missing for an fp16 run
     */
    void loadInto(DataParallelOptimizer dpo) {
        long numel = dpo.buffer().numel();
        for (NDArray a : List.of(params, firstMoment, secondMoment)) {
            if (a.size() != numel) {
                throw new IllegalArgumentException("full state array of " + a.size() + " elements for a buffer of " + numel
                        + "; it was gathered for another model or tensor-parallel split");
            }
        }
        try (Torch.GradMode g = Torch.gradMode(false)) {
            dpo.loadFullParameters(params);
            for (Optimizer o : dpo.stageOptimizers()) {
                try (NDArray mv = o.range().view(firstMoment); NDArray vv = o.range().view(secondMoment)) {
                    Tensors.copyInto(o.state().firstMoment(), mv);
                    Tensors.copyInto(o.state().secondMoment(), vv);
                }
                o.state().restoreSteps(optimizerSteps);
            }
        }
        DynamicLossScaler scaler = dpo.scaler();
        if (scaler != null) {
            if (lossScaler == null) {
                throw new IllegalArgumentException("this run computes in " + dpo.precision().name().toLowerCase(Locale.ROOT)
                        + " with a loss scale, but the state holds none: it was saved by an fp32 run");
            }
            scaler.restore(lossScaler[0], (long) lossScaler[1], (long) lossScaler[2]);
        }
    }
}
