package io.tessera.benchmarks.step;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.tessera.benchmarks.report.PyTorchReference;
import io.tessera.benchmarks.report.Samples;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.TransformerConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The PyTorch side of a step comparison: the configuration handed to {@code bert_step.py} and
 * {@code ddp_scaling.py}, and the reading of their output.
 *
 * <p>The reference implements post-LN BERT with its masked-LM head only. It is given Tessera's
 * <em>padded</em> vocabulary ({@link TransformerConfig#paddedVocabSize(int)} at tensor-parallel degree 1),
 * so that both systems compute the same products; both rows' FLOPs are then counted from the same
 * {@link io.tessera.models.flops.ModelShape} with the unpadded vocabulary. Dropout, LayerNorm epsilon,
 * AdamW's weight decay (0.01, matrices only), the learning rate and gradient clipping are passed through.
 *
 * <p>Thread safety: stateless.
 */
public final class BertReference {

    private BertReference() {}

    /**
     * Why the reference cannot run this step on a device, if it cannot.
     *
     * @param spec the step (model and precision)
     * @param device PyTorch's device string
     * @return empty when supported, else the reason
     */
    public static Optional<String> unsupported(StepSpec spec, String device) {
        if (spec.precision() == io.tessera.optim.amp.Precision.FP16 && !device.startsWith("cuda")) {
            return Optional.of("fp16 on the CPU: PyTorch's CPU autocast computes in bf16 only, so the reference runs fp16"
                    + " on a GPU only (--device cuda)");
        }
        return unsupported(spec.config());
    }

    /**
     * Why the reference cannot run this model, if it cannot.
     *
     * @param config the model
     * @return empty when supported, else the reason
     */
    public static Optional<String> unsupported(TransformerConfig config) {
        if (config.architecture() != Architecture.BERT) {
            return Optional.of("the PyTorch reference implements BERT only, not " + config.architecture());
        }
        if (config.preLayerNorm()) {
            return Optional.of("the PyTorch reference implements post-LN BERT only, not pre-LN (Megatron-BERT)");
        }
        return Optional.empty();
    }

    /**
     * The {@code --config} JSON of the reference scripts.
     *
     * @param spec the step (its batch is the reference's {@code batch})
     * @param steps timed steps
     * @param warmup untimed steps
     * @return the configuration object
     */
    public static JsonObject config(StepSpec spec, int steps, int warmup) {
        return config(spec, steps, warmup, "cpu");
    }

    /**
     * The {@code --config} JSON of the reference scripts, on a device and in the spec's precision.
     *
     * @param spec the step (its batch is the reference's {@code batch})
     * @param steps timed steps
     * @param warmup untimed steps
     * @param device PyTorch's device string, {@code cpu} or {@code cuda:N}
     * @return the configuration object
     */
    public static JsonObject config(StepSpec spec, int steps, int warmup, String device) {
        TransformerConfig c = spec.config();
        JsonObject j = new JsonObject();
        j.addProperty("hidden", c.hiddenSize());
        j.addProperty("layers", c.numLayers());
        j.addProperty("heads", c.numHeads());
        j.addProperty("ffn", c.intermediateSize());
        j.addProperty("seq", spec.seq());
        j.addProperty("vocab", c.paddedVocabSize(1));
        j.addProperty("batch", spec.batch());
        j.addProperty("max_positions", c.maxPositions());
        j.addProperty("type_vocab", c.typeVocabSize());
        j.addProperty("dropout", c.hiddenDropout());
        j.addProperty("attention_dropout", c.attentionDropout());
        j.addProperty("layer_norm_eps", c.layerNormEps());
        j.addProperty("lr", spec.learningRate());
        j.addProperty("weight_decay", 0.01);
        j.addProperty("clip", spec.maxGradNorm() > 0 ? spec.maxGradNorm() : 0.0);
        j.addProperty("seed", spec.seed());
        j.addProperty("steps", steps);
        j.addProperty("warmup", warmup);
        j.addProperty("device", device);
        j.addProperty("precision", spec.precision().flag());
        return j;
    }

    /**
     * Runs {@code bert_step.py}.
     *
     * @param ref the runner
     * @param spec the step
     * @param steps timed steps
     * @param warmup untimed steps
     * @param threads threads
     * @return the measured step times and the script's JSON line
     */
    public static Result step(PyTorchReference ref, StepSpec spec, int steps, int warmup, int threads) {
        return step(ref, spec, steps, warmup, threads, "cpu");
    }

    /**
     * Runs {@code bert_step.py} on a device.
     *
     * @param ref the runner
     * @param spec the step
     * @param steps timed steps
     * @param warmup untimed steps
     * @param threads threads
     * @param device PyTorch's device string
     * @return the measured step times and the script's JSON line
     */
    public static Result step(PyTorchReference ref, StepSpec spec, int steps, int warmup, int threads, String device) {
        List<JsonObject> lines = ref.run("bert_step.py", List.of("--config", config(spec, steps, warmup, device).toString()),
                threads);
        JsonObject j = lines.get(lines.size() - 1);
        return new Result(samples(j), j);
    }

    /**
     * Reads the per-step durations a reference script printed under {@code step_s}.
     *
     * @param j one JSON line
     * @return the durations
     */
    public static Samples samples(JsonObject j) {
        return samples(j, "step_s");
    }

    /**
     * @param j one JSON line of a reference script
     * @param key the array of step times to read, e.g. {@code step_s_no_sync}
     * @return its step times
     * @throws IllegalStateException if the line has no such array
     */
    public static Samples samples(JsonObject j, String key) {
        if (!j.has(key)) {
            throw new IllegalStateException("the reference's result line has no '" + key + "': " + j);
        }
        List<Double> secs = new ArrayList<>();
        for (JsonElement e : j.getAsJsonArray(key)) {
            secs.add(e.getAsDouble());
        }
        return new Samples(secs);
    }

    /**
     * @param j one JSON line of a reference script
     * @return {@code PyTorch <version>, BLAS <info>, <n> threads}
     */
    public static String describe(JsonObject j) {
        String threads = j.has("threads") ? j.get("threads").getAsString()
                : j.has("threads_per_rank") ? j.get("threads_per_rank").getAsString() : "?";
        boolean gpu = j.has("gpu") && !j.get("gpu").isJsonNull();
        return "PyTorch " + j.get("torch").getAsString() + " eager" + (j.has("config") && j.getAsJsonObject("config").has("precision")
                ? " " + j.getAsJsonObject("config").get("precision").getAsString() : "")
                + (gpu ? " on " + j.get("device").getAsString() + " (" + j.get("gpu").getAsString() + ")"
                        : ", BLAS " + j.get("blas").getAsString() + ", " + threads + " threads") + (j.has("loss_last") ? String.format(Locale.ROOT, ", last loss %.3f",
                j.get("loss_last").getAsDouble()) : "");
    }

    /**
     * What one reference run measured.
     *
     * <p>Thread safety: immutable record (the JSON object must not be modified).
     *
     * @param samples step durations
     * @param json the script's line
     */
    public record Result(Samples samples, JsonObject json) {}
}
