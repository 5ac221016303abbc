package io.tessera.train.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.core.Torch;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.models.LossTerms;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerModel;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.config.HeadConfig;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Evaluates a Hugging Face model directory on one batch given with Hugging Face's input names
 * ({@code input_ids}, {@code token_type_ids}, {@code attention_mask}, {@code labels} with -100 for
 * ignored positions, {@code next_sentence_label}), at any tensor-parallel degree. Losses follow
 * Hugging Face: BERT's {@code loss = mlm_loss + nsp_loss}; GPT-2's next-token loss with labels shifted
 * inside the model.
 *
 * <p>Thread safety: stateless; every rank of the job calls {@link #evaluate} together.
 */
public final class HfEvaluation {

    private HfEvaluation() {}

    /**
     * @param modelDir a folder with {@code config.json} and {@code model.safetensors}
     * @param input the batch as JSON
     * @param ctx this rank's groups
     * @return {@code loss} (and {@code mlm_loss}, {@code nsp_loss} for BERT)
     * @throws IOException if a file cannot be read
     */
    public static Map<String, Double> evaluate(Path modelDir, Path input, ParallelContext ctx) throws IOException {
        TransformerConfig config = HfConfigJson.read(modelDir.resolve(HfConfigJson.FILE_NAME));
        try (NDManager manager = NDManager.newBaseManager(ai.djl.Device.cpu()); Torch.GradMode off = Torch.gradMode(false)) {
            TransformerModel model = TransformerModel.of(config, ctx);
            try (ParameterBuffer params = ParameterBuffer.allocate(model, 0, manager, false)) {
                HfCheckpoint.load(model, modelDir);
                TokenBatch batch = readBatch(input, manager, config);
                Map<String, Double> out = new LinkedHashMap<>();
                try (Tape tape = new Tape(manager, 0, false, false)) {
                    LossTerms terms = model.lossTerms(tape, batch, false);
                    Map<String, Double> means = new LinkedHashMap<>();
                    terms.means().forEach((name, mean) -> means.put(name + "_loss", mean));
                    double loss = means.values().stream().mapToDouble(Double::doubleValue).sum();
                    if (means.isEmpty()) {
                        throw new IllegalArgumentException(input + ": no position carries a label, so there is no loss to report; give"
                                + " 'labels' (-100 where none; for GPT-2 usually equal to input_ids)"
                                + (terms.names().contains("nsp") ? " and/or 'next_sentence_label'" : ""));
                    }
                    out.put("loss", loss);
                    if (terms.terms().size() > 1) {
                        out.putAll(means);
                    }
                }
                return out;
            }
        }
    }

    /**
     * Reads a batch in Hugging Face's input names.
     *
     * @param input the JSON file
     * @param manager owner of the tensors
     * @param config the model, for range checks
     * @return the batch
     * @throws IOException if it cannot be read
     */
    public static TokenBatch readBatch(Path input, NDManager manager, TransformerConfig config) throws IOException {
        if (!Files.isRegularFile(input)) {
            throw new IllegalArgumentException("--input " + input + ": no such file");
        }
        JsonObject o = JsonParser.parseString(Files.readString(input)).getAsJsonObject();
        if (!o.has("input_ids")) {
            throw new IllegalArgumentException(input + ": 'input_ids' is required (a list of equally long lists of token ids)");
        }
        long[][] ids = matrix(o, "input_ids", input);
        int b = ids.length;
        int t = ids[0].length;
        for (long[] row : ids) {
            for (long id : row) {
                if (id < 0 || id >= config.vocabSize()) {
                    throw new IllegalArgumentException(input + ": input_ids holds " + id + ", outside the vocabulary [0, "
                            + config.vocabSize() + ")");
                }
            }
        }
        if (t > config.maxSequenceLength()) {
            throw new IllegalArgumentException(input + ": sequences of " + t + " tokens exceed the model's longest sequence, "
                    + config.maxSequenceLength() + " tokens (" + config.maxPositions() + " positions)");
        }
        boolean perSequence = config.head().task() == HeadConfig.Task.SEQUENCE_CLASSIFICATION;
        NDArray labels = o.has("labels") && !perSequence ? tensor(manager, matrix(o, "labels", input), b, t, "labels", input) : null;
        NDArray sequenceLabels = o.has("labels") && perSequence ? sequenceLabels(o, b, config, manager, input) : null;
        NDArray nsp = null;
        // ALBERT's AlbertForPreTraining names its sentence-order targets sentence_order_label; they travel where NSP's do.
        String pairKey = o.has("sentence_order_label") ? "sentence_order_label" : "next_sentence_label";
        if (o.has(pairKey)) {
            JsonArray a = o.getAsJsonArray(pairKey);
            long[] v = new long[a.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = a.get(i).getAsLong();
            }
            if (v.length != b) {
                throw new IllegalArgumentException(input + ": " + pairKey + " has " + v.length + " entries for " + b + " sequences");
            }
            nsp = manager.create(v);
        }
        return new TokenBatch(tensor(manager, ids, b, t, "input_ids", input),
                o.has("token_type_ids") ? tensor(manager, matrix(o, "token_type_ids", input), b, t, "token_type_ids", input) : null,
                o.has("attention_mask") ? tensor(manager, matrix(o, "attention_mask", input), b, t, "attention_mask", input) : null,
                labels, nsp, sequenceLabels);
    }

    /** A sequence classifier's {@code labels}: {@code [B]} class ids (int64), or floats for regression. */
    private static NDArray sequenceLabels(JsonObject o, int b, TransformerConfig config, NDManager manager, Path input) {
        JsonArray a = o.getAsJsonArray("labels");
        if (a.size() != b) {
            throw new IllegalArgumentException(input + ": a sequence classifier's 'labels' has " + a.size() + " entries for " + b
                    + " sequences; give one label per sequence");
        }
        boolean regression = config.head().problemType() == HeadConfig.ProblemType.REGRESSION;
        float[] f = new float[b];
        long[] l = new long[b];
        for (int i = 0; i < b; i++) {
            f[i] = a.get(i).getAsFloat();
            l[i] = regression ? 0 : a.get(i).getAsLong();
        }
        return regression ? manager.create(f) : manager.create(l);
    }

    private static long[][] matrix(JsonObject o, String key, Path input) {
        JsonArray rows = o.getAsJsonArray(key);
        if (rows.isEmpty()) {
            throw new IllegalArgumentException(input + ": '" + key + "' is empty");
        }
        long[][] m = new long[rows.size()][];
        for (int i = 0; i < m.length; i++) {
            JsonElement row = rows.get(i);
            if (!row.isJsonArray()) {
                throw new IllegalArgumentException(input + ": '" + key + "' must be a list of lists (batch × sequence)");
            }
            JsonArray r = row.getAsJsonArray();
            m[i] = new long[r.size()];
            for (int j = 0; j < m[i].length; j++) {
                m[i][j] = r.get(j).getAsLong();
            }
        }
        return m;
    }

    private static NDArray tensor(NDManager manager, long[][] m, int b, int t, String key, Path input) {
        if (m.length != b) {
            throw new IllegalArgumentException(input + ": '" + key + "' has " + m.length + " rows, input_ids has " + b);
        }
        long[] flat = new long[b * t];
        for (int i = 0; i < b; i++) {
            if (m[i].length != t) {
                throw new IllegalArgumentException(input + ": row " + i + " of '" + key + "' has " + m[i].length + " entries, expected " + t);
            }
            System.arraycopy(m[i], 0, flat, i * t, t);
        }
        return manager.create(flat, new Shape(b, t)).toType(DataType.INT64, false);
    }
}
