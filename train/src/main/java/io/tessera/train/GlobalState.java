package io.tessera.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Tensors;
import io.tessera.core.Torch;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.models.HfTensor;
import io.tessera.models.TransformerModel;
import io.tessera.optim.zero.DataParallelOptimizer;
import io.tessera.optim.zero.FullState;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.PartitionedTensors;
import java.io.IOException;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A run's parameters and optimizer moments as global tensors, independent of the layout that trained
 * them: each tensor whole (tensor-parallel slices joined, ZeRO pieces gathered), in Hugging Face's
 * name, shape and order (vocabulary padding stripped, GPT-2's {@code c_attn} as {@code [q|k|v]}).
 * A layout-independent checkpoint holds these; any other layout re-splits them.
 *
 * <pre>
 *   save:  ZeRO pieces ──all-reduce over dp──▶ flat state of this tp rank
 *          ──per tensor: all-gather over tp (dp rank 0 only)──▶ HF layout ──▶ {@value #PARAM}NAME, {@value #EXP_AVG}NAME, {@value #EXP_AVG_SQ}NAME
 *   load:  HF layout ──▶ this layout's full tensor (padding for this tp) ──▶ this rank's tp slice
 *          ──▶ flat state ──▶ this rank's ZeRO pieces
 * </pre>
 *
 * <p>Under pipeline parallelism each stage gathers its own tensors and sends them to stage 0
 * ({@link StageTensors}); the last stage's copy of the tied word embedding is the same tensor as stage
 * 0's and is written once; loading gives both copies the saved tensor.
 *
 * <p>Moments are laid out exactly like their parameters, so the same conversion applies to all three.
 * Save holds the whole model and its two moments on world rank 0 (3 × 4 bytes per parameter);
 * load reads them on every rank.
 *
 * <p>Thread safety: stateless; {@link #gather} is collective over the world.
 */
final class GlobalState {

    /** Name prefix of parameters. */
    static final String PARAM = "param/";
    /** Name prefix of Adam's first moments ({@code exp_avg}, as PyTorch's optimizers call them). */
    static final String EXP_AVG = "exp_avg/";
    /** Name prefix of second moments. */
    static final String EXP_AVG_SQ = "exp_avg_sq/";

    private static final List<String> KINDS = List.of(PARAM, EXP_AVG, EXP_AVG_SQ);

    private GlobalState() {}

    /** What {@link #gather} returns. */
    record Gathered(Map<String, NDArray> tensors, long optimizerSteps, double[] lossScaler) {}

    /**
     * Collective over the world: every rank calls it.
     *
     * @param model the model
     * @param dpo its optimizer
     * @param owner manager of the returned tensors
     * @return the global tensors on world rank 0 (empty elsewhere), the optimizer step count and loss scaler
     * @throws IOException never in practice
     */
    static Gathered gather(TransformerModel model, DataParallelOptimizer dpo, NDManager owner) throws IOException {
        ParallelContext pc = model.parallel();
        List<HfTensor> named = named(model, dpo.buffer());
        FullState full = dpo.gatherFullState(owner);
        Map<String, NDArray> out = new LinkedHashMap<>();
        if (pc.dataRank() == 0) {
            try (Torch.GradMode g = Torch.gradMode(false)) {
                NDArray[] flats = {full.params(), full.firstMoment(), full.secondMoment()};
                for (HfTensor t : named) {
                    Parameter p = t.parameter();
                    long offset = dpo.buffer().offset(p);
                    for (int k = 0; k < KINDS.size(); k++) {
                        NDArray local = flats[k].get(new ai.djl.ndarray.index.NDIndex().addSliceDim(offset, offset + p.numel()))
                                .reshape(p.shape());
                        NDArray whole = t.layout().toHf(PartitionedTensors.gather(pc.tensor(), owner, local, p.partition()));
                        if (pc.tensorRank() == 0) {
                            out.put(KINDS.get(k) + t.name(), whole);
                        }
                    }
                }
            }
            if (pc.tensorRank() == 0 && pc.pipelineSize() > 1) {
                // The first rank of each stage (tensor rank 0, data rank 0) forms world rank 0's pipeline group.
                out = StageTensors.gatherToFirst(pc.pipeline(), out, owner);
            }
        }
        return new Gathered(pc.rank() == 0 ? out : Map.of(), full.optimizerSteps(), full.lossScaler());
    }

    /**
     * Sets this rank's parameters and optimizer state from global tensors. No communication.
     *
     * @param model the model, at any layout
     * @param dpo its optimizer, at any ZeRO stage
     * @param tensors what {@link #gather} returned on the saving run's rank 0
     * @param optimizerSteps the optimizers' step count
     * @param lossScaler the fp16 loss scaler state, or null
     * @param source the file, for messages
     * @throws IllegalArgumentException naming the first tensor that is missing or has another shape, or
     *     tensors the model does not have
     */
    static void scatter(TransformerModel model, DataParallelOptimizer dpo, Map<String, NDArray> tensors, long optimizerSteps,
                        double[] lossScaler, String source) {
        ParameterBuffer buffer = dpo.buffer();
        List<HfTensor> named = named(model, buffer);
        NDManager manager = tensors.values().iterator().next().getManager();
        Shape flat = new Shape(buffer.numel());
        NDArray[] flats = {manager.zeros(flat, DataType.FLOAT32), manager.zeros(flat, DataType.FLOAT32),
                manager.zeros(flat, DataType.FLOAT32)};
        int used = 0;
        try (Torch.GradMode g = Torch.gradMode(false)) {
            for (HfTensor t : named) {
                Parameter p = t.parameter();
                Shape expected = t.layout().hfShape(p.fullShape());
                long offset = buffer.offset(p);
                for (int k = 0; k < KINDS.size(); k++) {
                    String key = KINDS.get(k) + t.name();
                    NDArray hf = tensors.get(key);
                    if (hf == null) {
                        throw new IllegalArgumentException(source + " has no tensor " + key + "; it was saved from another model."
                                + " Resume with the model the run was started with");
                    }
                    if (!hf.getShape().equals(expected)) {
                        throw new IllegalArgumentException(source + ": " + key + " has shape " + hf.getShape() + " but this model's is "
                                + expected + "; the checkpoint belongs to another model configuration");
                    }
                    NDArray whole = t.layout().fromHf(hf.toType(DataType.FLOAT32, false), p.fullShape());
                    NDArray local = ParameterBuffer.localSlice(whole, p.partition());
                    NDArray into = flats[k].get(new ai.djl.ndarray.index.NDIndex().addSliceDim(offset, offset + p.numel()));
                    Tensors.copyInto(into, local.reshape(p.numel()));
                    used++;
                }
            }
        }
        if (model.parallel().pipelineSize() > 1) {
            // A stage reads only its own tensors; the whole model's names are those of the same model declared whole.
            used = KINDS.size() * TransformerModel.of(model.config(), ParallelContext.single()).hfTensors().size();
        }
        if (used != tensors.size()) {
            throw new IllegalArgumentException(source + " holds " + tensors.size() + " tensors but this model reads " + used
                    + "; it was saved from a larger model. Resume with the model the run was started with");
        }
        dpo.loadFullState(new FullState(flats[0], flats[1], flats[2], optimizerSteps, lossScaler));
    }

    /** The model's named tensors, checked to cover every parameter of the buffer exactly once. */
    private static List<HfTensor> named(TransformerModel model, ParameterBuffer buffer) {
        List<HfTensor> named = model.hfTensors();
        Set<Parameter> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (HfTensor t : named) {
            if (!seen.add(t.parameter())) {
                throw new IllegalStateException(model.getClass().getSimpleName() + " names parameter " + t.parameter().name()
                        + " twice in hfTensors(); a checkpoint would hold it twice");
            }
        }
        for (Parameter p : buffer.list()) {
            if (!seen.contains(p)) {
                throw new IllegalStateException(model.getClass().getSimpleName() + " has parameter " + p.name()
                        + " without a Hugging Face name; a layout-independent checkpoint cannot hold it");
            }
        }
        return named;
    }
}
