package io.tessera.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.core.io.AtomicFiles;
import io.tessera.models.config.HfConfigJson;
import io.tessera.models.config.TransformerConfig;
import io.tessera.optim.amp.Precision;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code OUT/run.json}: what a run was started with (model configuration with its built vocabulary,
 * layout, optimizer, precision and loss-scaling rule), so that {@code tessera export} can rebuild each rank's state from the sharded
 * checkpoints.
 *
 * <p>Thread safety: stateless.
 */
public final class RunRecord {

    /** File name inside the run folder. */
    public static final String FILE = "run.json";

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    private RunRecord() {}

    /**
     * @param cfg the run
     * @param model the model configuration actually trained (vocabulary size of the built vocabulary)
     * @throws IOException if it cannot be written
     */
    static void write(TrainConfig cfg, TransformerConfig model) throws IOException {
        JsonObject o = new JsonObject();
        o.addProperty("task", cfg.task().name());
        o.addProperty("model_name", cfg.modelName());
        o.add("model", JsonParser.parseString(HfConfigJson.toJson(model)));
        o.addProperty("data", cfg.dataDir().toAbsolutePath().toString());
        o.addProperty("seq_length", cfg.seqLength());
        o.addProperty("cased", cfg.cased());
        o.addProperty("vocab_size", cfg.vocabSize());
        o.addProperty("seed", cfg.seed());
        o.addProperty("steps", cfg.steps());
        o.addProperty("global_batch", cfg.globalBatch());
        o.addProperty("micro_batch", cfg.microBatch());
        o.addProperty("tp", cfg.tensorParallel());
        o.addProperty("dp", cfg.dataParallel());
        o.addProperty("zero", cfg.zero().number());
        o.addProperty("optimizer", cfg.optimizer().optionName());
        o.addProperty("lr", cfg.lr());
        o.addProperty("warmup", cfg.warmupSteps());
        o.addProperty("weight_decay", cfg.weightDecay());
        o.addProperty("bucket_bytes", cfg.bucketBytes());
        o.addProperty("precision", cfg.precision().flag());
        o.addProperty("initial_loss_scale", cfg.initialLossScale());
        o.addProperty("loss_scale_window", cfg.lossScaleWindow());
        AtomicFiles.write(cfg.out().resolve(FILE), GSON.toJson(o).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Reads a run's record back as a configuration that rebuilds the same model and optimizer state.
     *
     * @param run the run folder
     * @return the configuration (resume set, so that it never clears the folder)
     * @throws IOException if the record is missing or unreadable
     */
    public static TrainConfig read(Path run) throws IOException {
        Path f = run.resolve(FILE);
        if (!Files.isRegularFile(f)) {
            throw new IllegalArgumentException(run + " has no " + FILE + "; pass the --out folder of a 'tessera pretrain' run");
        }
        JsonObject o = JsonParser.parseString(Files.readString(f)).getAsJsonObject();
        TransformerConfig model = HfConfigJson.parse(GSON.toJson(o.get("model")));
        TrainConfig.Builder b = TrainConfig.builder();
        if (o.has("precision")) {          // records written before mixed precision existed are fp32 runs
            b.optPrecision(Precision.parse(o.get("precision").getAsString()))
                    .optInitialLossScale(o.get("initial_loss_scale").getAsDouble())
                    .optLossScaleWindow(o.get("loss_scale_window").getAsLong());
        }
        return b.optTask(Task.valueOf(o.get("task").getAsString()))
                .setModel(model, o.get("model_name").getAsString()).setDataDir(Path.of(o.get("data").getAsString())).setOut(run)
                .optSeqLength(o.get("seq_length").getAsInt()).optVocabSize(o.get("vocab_size").getAsInt())
                .optSeed(o.get("seed").getAsLong()).optSteps(o.get("steps").getAsInt()).optGlobalBatch(o.get("global_batch").getAsInt())
                .optMicroBatch(o.get("micro_batch").getAsInt()).optTensorParallel(o.get("tp").getAsInt())
                .optDataParallel(o.get("dp").getAsInt()).optZero(o.get("zero").getAsInt()).optOptimizer(o.get("optimizer").getAsString())
                .optLr(o.get("lr").getAsDouble()).optWarmupSteps(o.get("warmup").getAsInt())
                .optWeightDecay(o.get("weight_decay").getAsDouble()).optBucketBytes(o.get("bucket_bytes").getAsLong()).optResume(true)
                .optVocabFile(run.resolve("vocab.txt")).optProgress(false).build();
    }
}
