package io.tessera.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.FieldNamingPolicy;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.core.gemm.Gemm;
import io.tessera.core.gemm.GemmPlan;
import io.tessera.core.gemm.Gemms;
import io.tessera.core.io.AtomicFiles;
import io.tessera.core.io.Safetensors;
import io.tessera.core.nn.Partition;
import io.tessera.train.data.DistributedBatchSampler;
import io.tessera.models.HfTensor;
import io.tessera.models.TransformerModel;
import io.tessera.models.config.HfConfigJson;
import io.tessera.optim.zero.DataParallelOptimizer;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.comm.ReduceOp;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Layout-independent training checkpoints under {@code OUT/checkpoints/}: every parameter and optimizer
 * moment as one global tensor ({@link GlobalState}), whatever tensor-parallel degree, data-parallel
 * degree and ZeRO stage saved it, so that a run resumes at any layout.
 *
 * <pre>
 *   checkpoints/step-00000040.partial/state.safetensors   param/NAME, exp_avg/NAME, exp_avg_sq/NAME (fp32, HF names and shapes)
 *                                    /checkpoint.json     step, data position, run settings, saved layout, tensor index
 *                                    /gemm-plan.json      the GEMM choice per product shape ({@link GemmPlan})
 *   ── all written by world rank 0, each file atomically; outcome all-reduced ──▶ rank 0 renames .partial → step-00000040
 *                                                                              rewrites checkpoints/latest (atomic)
 * </pre>
 *
 * <p>The data order, masking and dropout are pure functions of (seed, step) (and, for dropout, of the
 * layout), so the step is the whole RNG and data state. A run killed mid-write leaves {@code latest}
 * pointing to the previous complete checkpoint; a stale {@code .partial} folder is removed by the next
 * save. Loading re-splits each tensor for the loading run's layout; changing the model, task, global
 * batch, sequence length, seed, optimizer or precision is refused. Checkpoints of format 1 (one
 * {@code rank-NNNNN.safetensors} per rank, Tessera before layout-independent checkpoints) still load at
 * their own layout.
 *
 * <p>Thread safety: stateless; every rank calls {@link #save} and {@link #load} together.
 */
public final class CheckpointStore {

    /** The checkpoint's description file. */
    public static final String MANIFEST = "checkpoint.json";
    /** The checkpoint's tensors. */
    public static final String STATE = "state.safetensors";
    /** The value of {@link Manifest#format}. */
    public static final String FORMAT = "tessera-checkpoint";
    /** The current format version. */
    public static final int VERSION = 2;

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting()
            .setFieldNamingPolicy(FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES).create();
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);

    /** What a format-1 rank's JSON file records. */
    record Meta(int step, int world, int tensorParallel, int dataParallel, int zero, String optimizer, long seed,
                String model, int rank) {}

    /** The layout a checkpoint was saved with (informative: any layout can load it). */
    record Layout(int world, int tensorParallel, int dataParallel, int zero) {}

    /**
     * One tensor's entry in the index.
     *
     * @param shape its global shape (Hugging Face's)
     * @param tensorParallelDim the dimension of Tessera's layout along which the saving run split it
     *     over tensor-parallel ranks, or -1 when every rank held all of it
     * @param tensorParallelDegree the number of slices
     */
    record TensorEntry(long[] shape, int tensorParallelDim, int tensorParallelDegree) {}

    /**
     * {@code checkpoint.json}.
     *
     * @param format {@value #FORMAT}
     * @param version {@value #VERSION}
     * @param step optimizer steps completed
     * @param samplesSeen training examples consumed: step × global batch
     * @param epoch the data epoch of the next step
     * @param stepInEpoch the next step's index within its epoch
     * @param task bert or gpt2
     * @param modelName preset or config path
     * @param globalBatch examples per step
     * @param seqLength tokens per example
     * @param seed the run's seed
     * @param optimizer adamw or lamb
     * @param precision fp32 or fp16
     * @param savedLayout the layout that wrote it
     * @param optimizerSteps the optimizer's step count t (bias correction)
     * @param lossScaler {@code [scale, clean steps, skipped steps]} for fp16, else null
     * @param tensors the index: name to entry, in file order
     * @param modelConfig the model's Hugging Face {@code config.json}
     */
    record Manifest(String format, int version, int step, long samplesSeen, int epoch, int stepInEpoch, String task,
                    String modelName, int globalBatch, int seqLength, long seed, String optimizer, String precision,
                    Layout savedLayout, long optimizerSteps, double[] lossScaler, Map<String, TensorEntry> tensors,
                    JsonObject modelConfig) {}

    private final Path root;
    private final Gemm gemm;

    /**
     * A store whose run uses the process's GEMM strategy ({@link Gemms#current()}).
     *
     * @param out the run's output folder
     */
    public CheckpointStore(Path out) {
        this(out, Gemms.current());
    }

    /**
     * @param out the run's output folder
     * @param gemm the run's GEMM strategy: its plan is saved with each checkpoint, and a resumed run's
     *     strategy takes the saved plan's decisions
     */
    public CheckpointStore(Path out, Gemm gemm) {
        this.root = out.resolve("checkpoints");
        this.gemm = Objects.requireNonNull(gemm, "gemm");
    }

    /** @return the checkpoints folder */
    public Path root() {
        return root;
    }

    /**
     * Saves the run's state after {@code step} (collective over the world).
     *
     * @param step steps completed
     * @param data the data position of the next step
     * @param cfg the run's configuration
     * @param model the model
     * @param dpo the optimizer holding parameters and state
     * @param manager parent of the gathered tensors (freed before returning)
     * @throws IOException if rank 0 cannot write (on every rank: all of them learn the outcome)
     */
    public void save(int step, DistributedBatchSampler.Position data, TrainConfig cfg, TransformerModel model,
                     DataParallelOptimizer dpo, NDManager manager) throws IOException {
        ParallelContext ctx = model.parallel();
        String name = String.format("step-%08d", step);
        Path partial = root.resolve(name + ".partial");
        Path done = root.resolve(name);
        IOException failure = null;
        try (NDManager m = manager.newSubManager()) {
            GlobalState.Gathered g = GlobalState.gather(model, dpo, m);
            if (ctx.rank() == 0) {
                try {
                    deleteTree(partial);
                    Files.createDirectories(partial);
                    Map<String, TensorEntry> index = new LinkedHashMap<>();
                    for (HfTensor t : model.hfTensors()) {
                        Partition part = t.parameter().partition();
                        long[] shape = g.tensors().get(GlobalState.PARAM + t.name()).getShape().getShape();
                        TensorEntry e = new TensorEntry(shape, part.dim(), part.degree());
                        index.put(GlobalState.PARAM + t.name(), e);
                        index.put(GlobalState.EXP_AVG + t.name(), e);
                        index.put(GlobalState.EXP_AVG_SQ + t.name(), e);
                    }
                    Manifest manifest = new Manifest(FORMAT, VERSION, step, (long) step * cfg.globalBatch(), data.epoch(), data.step(),
                            cfg.task().name().toLowerCase(Locale.ROOT), cfg.modelName(), cfg.globalBatch(), cfg.seqLength(), cfg.seed(),
                            cfg.optimizer().optionName(), cfg.precision().flag(),
                            new Layout(cfg.world(), cfg.tensorParallel(), cfg.dataParallel(), cfg.zero().number()), g.optimizerSteps(),
                            g.lossScaler(), index, JsonParser.parseString(HfConfigJson.toJson(model.config())).getAsJsonObject());
                    Safetensors.save(g.tensors(), partial.resolve(STATE));
                    GemmPlan.of(gemm).write(partial.resolve(GemmPlan.RUN_FILE));
                    AtomicFiles.write(partial.resolve(MANIFEST), GSON.toJson(manifest).getBytes(StandardCharsets.UTF_8));
                    deleteTree(done);
                    Files.move(partial, done, StandardCopyOption.ATOMIC_MOVE);
                    AtomicFiles.write(root.resolve("latest"), name.getBytes(StandardCharsets.UTF_8));
                    try (Stream<Path> old = Files.list(root)) {
                        for (Path p : old.filter(p -> p.getFileName().toString().endsWith(".partial")).toList()) {
                            deleteTree(p);
                        }
                    }
                } catch (IOException e) {
                    failure = e;
                }
            }
            NDArray ok = m.create(new float[] {failure == null ? 1f : 0f});
            ctx.world().allReduce(ok, ReduceOp.MIN);
            if (failure != null) {
                throw failure;
            }
            if (ok.getFloat() == 0f) {
                throw new IOException("rank 0 failed to write checkpoint " + done + "; see its error");
            }
        }
    }

    /**
     * @return the latest complete checkpoint's folder, if any
     * @throws IOException if the pointer cannot be read
     */
    public Optional<Path> latest() throws IOException {
        Path pointer = root.resolve("latest");
        if (!Files.isRegularFile(pointer)) {
            return Optional.empty();
        }
        Path dir = root.resolve(Files.readString(pointer, StandardCharsets.UTF_8).trim());
        if (!Files.isDirectory(dir)) {
            throw new IOException(pointer + " names " + dir.getFileName() + ", which does not exist; the checkpoint folder was"
                    + " changed by hand. Point 'latest' at a complete step-* folder or start with --overwrite");
        }
        return Optional.of(dir);
    }

    /**
     * Restores the run's state from a checkpoint folder, or the latest when null, re-split for this
     * run's layout, and makes the GEMM strategy follow the plan the checkpoint recorded.
     *
     * @param checkpoint a {@code step-*} folder, or null
     * @param cfg the run's configuration
     * @param model the model, at this run's layout
     * @param dpo the optimizer to restore into
     * @param manager owner of the loaded tensors while copying
     * @return the step the checkpoint holds
     * @throws IOException if there is no checkpoint, it cannot be read, or it belongs to another run
     */
    public int load(Path checkpoint, TrainConfig cfg, TransformerModel model, DataParallelOptimizer dpo, NDManager manager)
            throws IOException {
        Path dir = checkpoint != null ? checkpoint : latest().orElseThrow(() -> new IOException("no checkpoint under " + root
                + " (no 'latest' file); run without --resume to start a new run"));
        if (!Files.isDirectory(dir)) {
            throw new IOException("checkpoint " + dir + " does not exist; list " + root + " for the saved steps");
        }
        if (!Files.isRegularFile(dir.resolve(MANIFEST))) {
            return loadFormat1(dir, cfg, model.parallel(), dpo, manager);
        }
        Manifest manifest = readManifest(dir);
        checkSameRun(manifest, cfg, model, dir);
        Path plan = dir.resolve(GemmPlan.RUN_FILE);
        if (Files.isRegularFile(plan)) {
            Gemms.adopt(gemm, GemmPlan.read(plan)).ifPresent(w -> {
                if (model.parallel().rank() == 0) {
                    LOG.warn("--resume: {}", w);
                }
            });
        }
        try (NDManager tmp = manager.newSubManager()) {
            Map<String, NDArray> tensors = Safetensors.load(dir.resolve(STATE), tmp);
            try {
                GlobalState.scatter(model, dpo, tensors, manifest.optimizerSteps(), manifest.lossScaler(), dir.resolve(STATE).toString());
            } catch (IllegalArgumentException e) {
                throw new IOException("--resume: " + e.getMessage(), e);
            }
        }
        return manifest.step();
    }

    /**
     * @param dir a {@code step-*} folder of format 2
     * @return its {@code checkpoint.json}
     * @throws IOException if it cannot be read or is of another format
     */
    static Manifest readManifest(Path dir) throws IOException {
        Manifest m;
        try {
            m = GSON.fromJson(Files.readString(dir.resolve(MANIFEST), StandardCharsets.UTF_8), Manifest.class);
        } catch (com.google.gson.JsonParseException e) {
            throw new IOException(dir.resolve(MANIFEST) + " is not valid JSON (" + e.getMessage() + "); the checkpoint is damaged,"
                    + " resume from an earlier step-* folder", e);
        }
        if (m == null || !FORMAT.equals(m.format()) || m.version() != VERSION) {
            throw new IOException(dir.resolve(MANIFEST) + " is not a " + FORMAT + " version " + VERSION + " manifest"
                    + (m == null ? "" : " (format " + m.format() + ", version " + m.version() + ")")
                    + "; it was written by another program or a newer Tessera");
        }
        return m;
    }

    /** Refuses a checkpoint of another run: the layout may change, the model and the data stream may not. */
    private static void checkSameRun(Manifest m, TrainConfig cfg, TransformerModel model, Path dir) throws IOException {
        List<String> diffs = new ArrayList<>();
        diff(diffs, "task", m.task(), cfg.task().name().toLowerCase(Locale.ROOT));
        diff(diffs, "--global-batch", m.globalBatch(), cfg.globalBatch());
        diff(diffs, "--seq-length", m.seqLength(), cfg.seqLength());
        diff(diffs, "--seed", m.seed(), cfg.seed());
        diff(diffs, "--optimizer", m.optimizer(), cfg.optimizer().optionName());
        diff(diffs, "--precision", m.precision(), cfg.precision().flag());
        JsonObject mine = JsonParser.parseString(HfConfigJson.toJson(model.config())).getAsJsonObject();
        for (String key : new java.util.TreeSet<>(union(m.modelConfig().keySet(), mine.keySet()))) {
            diff(diffs, "model " + key, m.modelConfig().get(key), mine.get(key));
        }
        if (!diffs.isEmpty()) {
            throw new IOException("--resume: the checkpoint in " + dir + " belongs to another run: " + String.join("; ", diffs)
                    + ". The layout (--nproc, --tp, --dp, --zero, --micro-batch) may change on resume; these may not. Resume with"
                    + " the saved values (see " + MANIFEST + "), or start a new run, e.g. from the exported model");
        }
    }

    private static java.util.Set<String> union(java.util.Set<String> a, java.util.Set<String> b) {
        java.util.Set<String> u = new java.util.LinkedHashSet<>(a);
        u.addAll(b);
        return u;
    }

    private static void diff(List<String> diffs, String what, Object saved, Object now) {
        if (!java.util.Objects.equals(saved, now)) {
            diffs.add(what + " was " + saved + ", now " + now);
        }
    }

    /** The format-1 loader: one shard file per rank, same layout only. */
    private int loadFormat1(Path dir, TrainConfig cfg, ParallelContext ctx, DataParallelOptimizer dpo, NDManager manager)
            throws IOException {
        Path metaFile = dir.resolve(String.format("rank-%05d.json", ctx.rank()));
        if (!Files.isRegularFile(metaFile)) {
            throw new IOException("--resume: " + dir + " has neither " + MANIFEST + " nor state for rank " + ctx.rank()
                    + "; it is not a complete checkpoint, or a format-1 checkpoint of a run with fewer ranks. Resume with the"
                    + " saved layout or from another step-* folder");
        }
        Meta meta = new Gson().fromJson(Files.readString(metaFile), Meta.class);
        if (meta.world() != cfg.world() || meta.tensorParallel() != cfg.tensorParallel() || meta.zero() != cfg.zero().number()
                || !meta.optimizer().equals(cfg.optimizer().optionName())) {
            throw new IOException(String.format("--resume: the format-1 checkpoint in %s was saved with world %d, tp %d, zero %d,"
                            + " %s; this run has world %d, tp %d, zero %d, %s. Checkpoints of this older format resume only at"
                            + " their own layout: resume with it once, and the next checkpoint is layout-independent", dir,
                    meta.world(), meta.tensorParallel(), meta.zero(), meta.optimizer(), cfg.world(), cfg.tensorParallel(), cfg.zero().number(),
                    cfg.optimizer().optionName()));
        }
        try (NDManager tmp = manager.newSubManager()) {
            dpo.loadStateDict(Safetensors.load(dir.resolve(String.format("rank-%05d.safetensors", ctx.rank())), tmp));
        }
        return meta.step();
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path q : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }
}
