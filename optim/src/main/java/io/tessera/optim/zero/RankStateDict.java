package io.tessera.optim.zero;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.tessera.core.Tensors;
import io.tessera.core.Torch;
import io.tessera.optim.Optimizer;
import io.tessera.optim.OptimizerState;
import io.tessera.optim.amp.DynamicLossScaler;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One rank's own state as named tensors, valid only at the layout that wrote it (Tessera's format-1
 * checkpoints, one file per rank): {@code params}, {@code opt.I.m}, {@code opt.I.v}, {@code opt.I.t} per
 * optimizer piece, and {@value #LOSS_SCALER_KEY} in fp16. Layout-independent checkpoints use
 * {@link FullState} instead.
 *
 * <p>Thread safety: stateless.
 */
final class RankStateDict {

    /** The loss scaler's entry (fp16 runs only): [scale, clean steps, skipped steps]. */
    static final String LOSS_SCALER_KEY = "amp.loss_scaler";

    private RankStateDict() {}

    static Map<String, NDArray> of(DataParallelOptimizer dpo) {
        NDManager manager = dpo.stageManager();
        Map<String, NDArray> out = new LinkedHashMap<>();
        out.put("params", dpo.parameterStateArray());
        List<Optimizer> opts = dpo.stageOptimizers();
        for (int i = 0; i < opts.size(); i++) {
            OptimizerState st = opts.get(i).state();
            out.put("opt." + i + ".m", st.firstMoment());
            out.put("opt." + i + ".v", st.secondMoment());
            out.put("opt." + i + ".t", manager.create(new long[] {st.steps()}));
        }
        DynamicLossScaler scaler = dpo.scaler();
        if (scaler != null) {
            out.put(LOSS_SCALER_KEY, manager.create(new double[] {scaler.scale(), scaler.cleanSteps(), scaler.skippedSteps()}));
        }
        return out;
    }

    static void load(DataParallelOptimizer dpo, Map<String, NDArray> state) {
        Map<String, NDArray> mine = of(dpo);
        if (!state.keySet().equals(mine.keySet())) {
            throw new IllegalArgumentException("checkpoint holds " + state.size() + " tensors " + state.keySet()
                    + " but this rank's ZeRO-" + dpo.stage() + " state has " + mine.keySet()
                    + "; resume with the same --tp, --dp, --zero, --optimizer and --precision as the saved run");
        }
        try (Torch.GradMode g = Torch.gradMode(false)) {
            for (Map.Entry<String, NDArray> e : mine.entrySet()) {
                NDArray saved = state.get(e.getKey());
                if (!saved.getShape().equals(e.getValue().getShape())) {
                    throw new IllegalArgumentException("checkpoint tensor " + e.getKey() + " has shape " + saved.getShape()
                            + ", this run expects " + e.getValue().getShape() + "; resume with the same layout and model");
                }
            }
            List<Optimizer> opts = dpo.stageOptimizers();
            for (Map.Entry<String, NDArray> e : mine.entrySet()) {
                if (e.getKey().equals(LOSS_SCALER_KEY)) {
                    double[] s = state.get(e.getKey()).toType(DataType.FLOAT64, false).toDoubleArray();
                    dpo.scaler().restore(s[0], (long) s[1], (long) s[2]);
                } else if (e.getKey().endsWith(".t")) {
                    int i = Integer.parseInt(e.getKey().split("\\.")[1]);
                    opts.get(i).state().restoreSteps(state.get(e.getKey()).getLong());
                } else {
                    Tensors.copyInto(e.getValue(), state.get(e.getKey()));
                }
            }
        }
    }
}
