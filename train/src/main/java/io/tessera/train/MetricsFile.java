package io.tessera.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code OUT/metrics.jsonl}: one JSON object per step ({@code "type": "train"}) and per evaluation
 * ({@code "type": "eval"}), appended and flushed as they happen, so a resumed run continues the file.
 *
 * <pre>
 *   {"type":"train","step":3,"loss":7.05,"mlm_loss":6.36,"nsp_loss":0.69,"lr":0.0033,"grad_norm":1.64,"skipped":false,
 *    "step_s":0.12,"tokens_per_s":2100,"tflops":0.0003,"rss_mb":512}          (+ loss_scale, skipped_steps in fp16; device_mem_mb on a GPU)
 *   {"type":"eval","step":4,"loss":7.01,"mlm_loss":6.33,"mlm_accuracy":0.03,"nsp_loss":0.68}   (+ perplexity for GPT-2)
 * </pre>
 *
 * <p>Thread safety: not thread-safe; a listener of one trainer.
 */
public final class MetricsFile implements TrainingListener {

    private static final Gson GSON = new GsonBuilder().serializeSpecialFloatingPointValues().create();

    private final BufferedWriter out;

    /**
     * @param file the metrics file, created or appended to
     * @throws IOException if it cannot be opened
     */
    public MetricsFile(Path file) throws IOException {
        this.out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    @Override
    public void onStep(StepReport r) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("type", "train");
        row.put("step", r.step());
        row.put("loss", r.loss());
        if (r.termLosses().size() > 1) {
            r.termLosses().forEach((term, v) -> row.put(term + "_loss", v));
        }
        row.put("lr", r.lr());
        row.put("grad_norm", r.result().gradNorm());
        row.put("skipped", r.result().skipped());
        if (r.fp16()) {
            row.put("loss_scale", r.result().lossScale());
            row.put("skipped_steps", r.skippedSteps());
        }
        row.put("step_s", r.seconds());
        row.put("tokens_per_s", r.tokensPerSecond());
        row.put("tflops", r.tflopsPerRank());
        row.put("rss_mb", r.residentMegabytes());
        if (!Double.isNaN(r.deviceMegabytes())) {
            row.put("device_mem_mb", r.deviceMegabytes());
        }
        write(row);
    }

    @Override
    public void onEvaluation(Evaluation e) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("type", "eval");
        row.put("step", e.step());
        row.put("loss", e.loss());
        if (e.termLosses().size() > 1 || !e.accuracies().isEmpty()) {
            for (Map.Entry<String, Double> t : e.termLosses().entrySet()) {
                row.put(t.getKey() + "_loss", t.getValue());
                if (e.accuracies().containsKey(t.getKey())) {
                    row.put(t.getKey() + "_accuracy", e.accuracies().get(t.getKey()));
                }
            }
        }
        if (!Double.isNaN(e.perplexity())) {
            row.put("perplexity", e.perplexity());
        }
        row.putAll(e.metrics());
        write(row);
    }

    private void write(Map<String, Object> row) {
        try {
            out.write(GSON.toJson(row));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot append to the metrics file: " + e.getMessage(), e);
        }
    }

    @Override
    public void onEnd() {
        try {
            out.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
