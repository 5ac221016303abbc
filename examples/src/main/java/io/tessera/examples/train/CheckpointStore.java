package io.tessera.examples.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import io.tessera.core.io.AtomicFiles;
import io.tessera.core.io.Safetensors;
import io.tessera.optim.zero.DataParallelOptimizer;
import io.tessera.parallel.ParallelContext;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Sharded training checkpoints under {@code OUT/checkpoints/}: one safetensors file per rank with its
 * parameters (or ZeRO shard) and optimizer state, plus a JSON file with the step, the data position and
 * the layout. The data order, masking and dropout are pure functions of (seed, step), so the step is
 * the whole RNG and data state.
 *
 * <pre>
 *   checkpoints/step-00000040.partial/rank-00000.safetensors   written by every rank (atomic files)
 *   ── barrier ──▶ rank 0 renames step-00000040.partial → step-00000040
 *                 rank 0 rewrites checkpoints/latest = "step-00000040"   (atomic)
 * </pre>
 *
 * A run killed mid-write leaves {@code latest} pointing to the previous complete checkpoint; a stale
 * {@code .partial} folder is removed by the next save.
 *
 * <p>Thread safety: stateless; every rank calls {@link #save} and {@link #loadLatest} together.
 */
public final class CheckpointStore {

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    /** What a rank's JSON file records. */
    record Meta(int step, int world, int tensorParallel, int dataParallel, int zero, String optimizer, long seed,
                String model, int rank) {}

    private final Path root;

    /**
     * @param out the run's output folder
     */
    public CheckpointStore(Path out) {
        this.root = out.resolve("checkpoints");
    }

    /** @return the checkpoints folder */
    public Path root() {
        return root;
    }

    /**
     * Saves this rank's state for {@code step} (collective over the world).
     *
     * @param step steps completed
     * @param cfg the run's configuration
     * @param ctx this rank's groups
     * @param dpo the optimizer holding parameters and state
     * @throws IOException if writing fails on this rank
     */
    public void save(int step, TrainConfig cfg, ParallelContext ctx, DataParallelOptimizer dpo) throws IOException {
        String name = String.format("step-%08d", step);
        Path partial = root.resolve(name + ".partial");
        Path done = root.resolve(name);
        if (ctx.rank() == 0) {
            deleteTree(partial);
            Files.createDirectories(partial);
        }
        ctx.world().barrier();
        Map<String, NDArray> state = dpo.stateDict();
        Safetensors.save(state, partial.resolve(String.format("rank-%05d.safetensors", ctx.rank())));
        Meta meta = new Meta(step, cfg.world(), cfg.tensorParallel(), cfg.dataParallel(), cfg.zero(), cfg.optimizer(), cfg.seed(),
                cfg.modelName(), ctx.rank());
        AtomicFiles.write(partial.resolve(String.format("rank-%05d.json", ctx.rank())), GSON.toJson(meta).getBytes(StandardCharsets.UTF_8));
        ctx.world().barrier();
        if (ctx.rank() == 0) {
            deleteTree(done);
            Files.move(partial, done, StandardCopyOption.ATOMIC_MOVE);
            AtomicFiles.write(root.resolve("latest"), name.getBytes(StandardCharsets.UTF_8));
            try (Stream<Path> old = Files.list(root)) {
                for (Path p : old.filter(p -> p.getFileName().toString().endsWith(".partial")).toList()) {
                    deleteTree(p);
                }
            }
        }
        ctx.world().barrier();
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
     * Restores this rank's state from the latest checkpoint.
     *
     * @param cfg the run's configuration (its layout must equal the saved one)
     * @param ctx this rank's groups
     * @param dpo the optimizer to restore into
     * @param manager owner of the loaded tensors while copying
     * @return the step to continue from
     * @throws IOException if there is no checkpoint or it cannot be read
     */
    public int loadLatest(TrainConfig cfg, ParallelContext ctx, DataParallelOptimizer dpo, NDManager manager) throws IOException {
        return load(null, cfg, ctx, dpo, manager);
    }

    /**
     * Restores this rank's state from a given checkpoint folder, or the latest when null.
     *
     * @param checkpoint a {@code step-*} folder, or null
     * @param cfg the run's configuration (its layout must equal the saved one)
     * @param ctx this rank's groups
     * @param dpo the optimizer to restore into
     * @param manager owner of the loaded tensors while copying
     * @return the step the checkpoint holds
     * @throws IOException if there is no checkpoint or it cannot be read
     */
    public int load(Path checkpoint, TrainConfig cfg, ParallelContext ctx, DataParallelOptimizer dpo, NDManager manager)
            throws IOException {
        Path dir = checkpoint != null ? checkpoint : latest().orElseThrow(() -> new IOException("no checkpoint under " + root
                + " (no 'latest' file); run without --resume to start a new run"));
        if (!Files.isDirectory(dir)) {
            throw new IOException("checkpoint " + dir + " does not exist; list " + root + " for the saved steps");
        }
        Path metaFile = dir.resolve(String.format("rank-%05d.json", ctx.rank()));
        if (!Files.isRegularFile(metaFile)) {
            throw new IOException("--resume: " + dir + " has no state for rank " + ctx.rank() + "; it was written by a run with"
                    + " fewer ranks. Resume with the saved layout or export and start again");
        }
        Meta meta = GSON.fromJson(Files.readString(metaFile), Meta.class);
        if (meta.world() != cfg.world() || meta.tensorParallel() != cfg.tensorParallel() || meta.zero() != cfg.zero()
                || !meta.optimizer().equals(cfg.optimizer())) {
            throw new IOException(String.format("--resume: the checkpoint in %s was saved with world %d, tp %d, zero %d, %s; this"
                            + " run has world %d, tp %d, zero %d, %s. Resume with the saved layout (or export the model and"
                            + " start a new run from it)", dir, meta.world(), meta.tensorParallel(), meta.zero(), meta.optimizer(),
                    cfg.world(), cfg.tensorParallel(), cfg.zero(), cfg.optimizer()));
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
