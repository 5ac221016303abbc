package io.tessera.models.checkpoint;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.core.Tensors;
import io.tessera.core.io.AtomicFiles;
import io.tessera.core.io.Safetensors;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.models.HfTensor;
import io.tessera.models.TransformerModel;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.comm.ReduceOp;
import io.tessera.parallel.tensor.PartitionedTensors;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads and writes a Hugging Face model directory ({@code config.json} and {@code model.safetensors},
 * plus the files a caller puts beside them, such as a tokenizer's) from a model at any tensor-parallel
 * degree.
 *
 * <ul>
 *   <li>{@link #save}: the ranks of world rank 0's tensor-parallel group all-gather each parameter
 *       ({@link PartitionedTensors#gather}) and convert it to the checkpoint layout ({@link
 *       io.tessera.models.HfLayout}: vocabulary padding stripped, GPT-2's {@code c_attn} back in
 *       {@code [q|k|v]} order); world rank 0 writes both files, each atomically (temporary file,
 *       fsync, rename). A world all-reduce of rank 0's outcome ends the call, so the directory is
 *       complete on every rank's return, or every rank fails. Tied copies ({@code lm_head.weight},
 *       {@code cls.predictions.decoder.*}) are not written, as Hugging Face's {@code save_pretrained}
 *       does not write them.
 *   <li>{@link #load}: every rank reads the file, converts each tensor to Tessera's layout for its own
 *       degree (padding added as zeros), and copies its slice into the parameter. No communication.
 * </ul>
 *
 * <pre>{@code
 * HfCheckpoint.save(model, dir);                          // on every rank
 * TransformerConfig config = HfConfigJson.read(dir);
 * Gpt2LmHeadModel copy = new Gpt2LmHeadModel(config, otherParallelContext);
 * try (ParameterBuffer params = ParameterBuffer.allocate(copy, 0, manager)) {
 *     HfCheckpoint.load(copy, dir);
 * }
 * }</pre>
 *
 * <p>Thread safety: stateless; every rank of the job calls {@link #save} together.
 */
public final class HfCheckpoint {

    /** The weights file Hugging Face reads from a model directory. */
    public static final String WEIGHTS_FILE = "model.safetensors";

    /** Element types Tessera can hold in DJL 0.35.1 (bfloat16 would abort the JVM). */
    private static final Set<String> READABLE_DTYPES = Set.of("F32", "F16", "F64");

    private HfCheckpoint() {}

    /**
     * Writes {@code dir/config.json} and {@code dir/model.safetensors}. Call on every rank.
     *
     * @param model an allocated model
     * @param dir the model directory, created if absent
     * @throws IOException if rank 0 cannot write
     */
    public static void save(TransformerModel model, Path dir) throws IOException {
        save(model, dir, Map.of());
    }

    /**
     * Writes {@code dir/config.json}, {@code dir/model.safetensors} and the files beside them that make
     * the directory usable on its own (a tokenizer's {@code vocab.txt}, {@code tokenizer_config.json},
     * ...). Call on every rank; world rank 0 writes. Each file is written atomically; the extra files
     * are all or nothing: when one cannot be written, those of {@code extraFiles} already in the
     * directory are deleted, and every rank fails.
     *
     * @param model an allocated model
     * @param dir the model directory, created if absent
     * @param extraFiles file name (no folders) → content, written after the weights and config
     * @throws IOException if rank 0 cannot write
     */
    public static void save(TransformerModel model, Path dir, Map<String, byte[]> extraFiles) throws IOException {
        for (String name : extraFiles.keySet()) {
            if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.equals(WEIGHTS_FILE)
                    || name.equals(HfConfigJson.FILE_NAME)) {
                throw new IllegalArgumentException("HfCheckpoint.save: extra file '" + name + "' must be a plain file name other than "
                        + WEIGHTS_FILE + " and " + HfConfigJson.FILE_NAME);
            }
        }
        ParallelContext pc = model.parallel();
        boolean writer = pc.rank() == 0;
        IOException failure = null;
        NDManager base = model.hfTensors().get(0).parameter().data().getManager();
        try (NDManager m = base.newSubManager()) {
            // Only rank 0's tensor-parallel group (data-parallel rank 0) gathers; the other groups hold copies.
            Map<String, NDArray> tensors = new LinkedHashMap<>();
            if (pc.dataRank() == 0) {
                for (HfTensor t : model.hfTensors()) {
                    Parameter p = t.parameter();
                    NDArray full = PartitionedTensors.gather(pc.tensor(), m, p.data(), p.partition());
                    tensors.put(t.name(), t.layout().toHf(full));
                }
            }
            if (writer) {
                try {
                    Files.createDirectories(dir);
                    Safetensors.save(tensors, dir.resolve(WEIGHTS_FILE));
                    AtomicFiles.write(dir.resolve(HfConfigJson.FILE_NAME),
                            HfConfigJson.toJson(model.config()).getBytes(StandardCharsets.UTF_8));
                    writeAllOrNone(dir, extraFiles);
                } catch (IOException e) {
                    failure = e;
                }
            }
            // Every rank learns whether rank 0 wrote the directory; none returns before it is complete.
            NDArray ok = m.create(new float[] {failure == null ? 1f : 0f});
            pc.world().allReduce(ok, ReduceOp.MIN);
            if (failure != null) {
                throw failure;
            }
            if (ok.getFloat() == 0f) {
                throw new IOException("rank 0 failed to write the checkpoint to " + dir + "; see its error");
            }
        }
    }

    private static void writeAllOrNone(Path dir, Map<String, byte[]> files) throws IOException {
        try {
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                AtomicFiles.write(dir.resolve(f.getKey()), f.getValue());
            }
        } catch (IOException e) {
            // A mix of new and earlier files would describe two different things: leave none of them.
            for (String name : files.keySet()) {
                try {
                    Files.deleteIfExists(dir.resolve(name));
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
    }

    /**
     * Copies a Hugging Face checkpoint's weights into an allocated model, at the model's degree. Names
     * may carry the base-model prefix ({@code transformer.}, {@code bert.}) or not.
     *
     * <p>When the directory's head ({@code architectures}) is another than the model's — a pre-training
     * checkpoint loaded into a classifier, or a fine-tuned classifier into the pre-training model — the
     * encoder must be complete and is copied; the model's other tensors keep their initial values and
     * the checkpoint's head tensors are skipped, both listed in the returned report (and logged as a
     * warning). With the same head every tensor must match.
     *
     * @param model an allocated model whose configuration matches the directory's (its head may differ)
     * @param dir the model directory
     * @return which tensors were newly initialised and which were not used
     * @throws IOException if the files cannot be read
     * @throws IllegalArgumentException if the configuration differs, a tensor is missing, has the wrong
     *     shape or an unsupported type, or the file holds tensors the model does not know
     */
    public static LoadReport load(TransformerModel model, Path dir) throws IOException {
        TransformerConfig stored = HfConfigJson.read(dir);
        checkSameModel(stored, model.config(), dir);
        boolean transfer = stored.head().task() != model.config().head().task();
        Path file = dir.resolve(WEIGHTS_FILE);
        checkDtypes(file, model);
        NDManager base = model.hfTensors().get(0).parameter().data().getManager();
        try (NDManager m = base.newSubManager()) {
            Map<String, NDArray> tensors = Safetensors.load(file, m);
            Set<String> used = new TreeSet<>();
            List<String> missing = new ArrayList<>();
            for (HfTensor t : model.hfTensors()) {
                String name = t.name();
                NDArray hf = tensors.get(name);
                if (hf == null && name.startsWith(model.basePrefix() + ".")) {
                    name = name.substring(model.basePrefix().length() + 1);
                    hf = tensors.get(name);
                }
                if (hf == null) {
                    missing.add(t.name());
                    continue;
                }
                used.add(name);
                Parameter p = t.parameter();
                Shape expected = t.layout().hfShape(p.fullShape());
                if (!hf.getShape().equals(expected)) {
                    throw new IllegalArgumentException(file + ": tensor " + name + " has shape " + hf.getShape()
                            + ", the model expects " + expected + "; the checkpoint does not match config.json");
                }
                NDArray full = t.layout().fromHf(hf.toType(p.data().getDataType(), false), p.fullShape());
                Tensors.copyInto(p.data(), ParameterBuffer.localSlice(full, p.partition()));
            }
            List<String> unexpected = new ArrayList<>();
            for (String name : tensors.keySet()) {
                if (!used.contains(name) && !model.isTiedOrBuffer(name)) {
                    unexpected.add(name);
                }
            }
            if (transfer) {
                List<String> encoderMissing = new ArrayList<>();
                for (String name : missing) {
                    if (isEncoderBody(model, name)) {
                        encoderMissing.add(name);
                    }
                }
                if (encoderMissing.isEmpty()) {
                    LoadReport report = new LoadReport(missing, unexpected);
                    if (!report.complete()) {
                        System.getLogger(HfCheckpoint.class.getName()).log(System.Logger.Level.WARNING,
                                "{0} ({1}) loaded into {2}: newly initialised {3}; not used {4}", dir,
                                stored.head().task(), model.getClass().getSimpleName(), missing, unexpected);
                    }
                    return report;
                }
                missing = encoderMissing;
                unexpected = List.of();
            }
            if (!missing.isEmpty() || !unexpected.isEmpty()) {
                throw new IllegalArgumentException(file + " does not match " + model.getClass().getSimpleName()
                        + (missing.isEmpty() ? "" : "; missing tensors: " + missing)
                        + (unexpected.isEmpty() ? "" : "; tensors the model does not have: " + unexpected)
                        + "; check that config.json and the weights come from the same model");
            }
            return new LoadReport(List.of(), List.of());
        }
    }

    /** Whether a model tensor belongs to the embeddings or layers every head of the family shares. */
    private static boolean isEncoderBody(TransformerModel model, String name) {
        String p = model.basePrefix() + ".";
        return name.startsWith(p + "embeddings.") || name.startsWith(p + "encoder.") || name.startsWith(p + "transformer.");
    }

    private static void checkSameModel(TransformerConfig stored, TransformerConfig model, Path dir) {
        List<String> diffs = new ArrayList<>();
        diff(diffs, "architecture", stored.architecture(), model.architecture());
        diff(diffs, "vocabSize", stored.vocabSize(), model.vocabSize());
        diff(diffs, "hiddenSize", stored.hiddenSize(), model.hiddenSize());
        diff(diffs, "numLayers", stored.numLayers(), model.numLayers());
        diff(diffs, "numHeads", stored.numHeads(), model.numHeads());
        diff(diffs, "intermediateSize", stored.intermediateSize(), model.intermediateSize());
        diff(diffs, "maxPositions", stored.maxPositions(), model.maxPositions());
        diff(diffs, "typeVocabSize", stored.typeVocabSize(), model.typeVocabSize());
        diff(diffs, "preLayerNorm", stored.preLayerNorm(), model.preLayerNorm());
        diff(diffs, "padTokenId", stored.padTokenId(), model.padTokenId());
        if (stored.head().task() == model.head().task()) {
            diff(diffs, "numLabels", stored.head().numLabels(), model.head().numLabels());
        }
        diff(diffs, "albert", String.valueOf(stored.albert()), String.valueOf(model.albert()));
        if (!diffs.isEmpty()) {
            throw new IllegalArgumentException(dir.resolve(HfConfigJson.FILE_NAME) + " describes another model than the one"
                    + " being loaded: " + String.join(", ", diffs) + "; build the model from HfConfigJson.read(dir)");
        }
    }

    private static void diff(List<String> diffs, String field, Object stored, Object model) {
        if (!stored.equals(model)) {
            diffs.add(field + " " + stored + " in the checkpoint vs " + model + " in the model");
        }
    }

    /**
     * Reads the safetensors header and rejects element types DJL 0.35.1 cannot hold, before decoding;
     * tensors loading skips (tied copies, integer buffers such as {@code position_ids}) may be of any type.
     */
    private static void checkDtypes(Path file, TransformerModel model) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no " + WEIGHTS_FILE + " in the model directory");
        }
        JsonObject header;
        try (InputStream in = Files.newInputStream(file); DataInputStream data = new DataInputStream(in)) {
            byte[] size = new byte[8];
            data.readFully(size);
            long n = ByteBuffer.wrap(size).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (n <= 0 || n > 100_000_000L) {
                throw new IOException(file + " is not a safetensors file (header length " + n + ")");
            }
            byte[] json = new byte[(int) n];
            data.readFully(json);
            header = JsonParser.parseString(new String(json, StandardCharsets.UTF_8).trim()).getAsJsonObject();
        }
        for (Map.Entry<String, JsonElement> e : header.entrySet()) {
            if (e.getKey().equals("__metadata__") || model.isTiedOrBuffer(e.getKey())) {
                continue;
            }
            String dtype = e.getValue().getAsJsonObject().get("dtype").getAsString();
            if (!READABLE_DTYPES.contains(dtype)) {
                throw new IllegalArgumentException(file + ": tensor " + e.getKey() + " is " + dtype
                        + "; Tessera reads F32, F16 and F64 (DJL 0.35.1 cannot hold bfloat16); convert the checkpoint to float32");
            }
        }
    }
}
