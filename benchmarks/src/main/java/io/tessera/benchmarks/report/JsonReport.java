package io.tessera.benchmarks.report;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import io.tessera.benchmarks.ceiling.Ceiling;
import io.tessera.benchmarks.ceiling.MatmulMeasurement;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a {@link Report} as one JSON document:
 *
 * <pre>
 * { "benchmark": "step", "environment": {...},
 *   "ceiling": { "gflops": 212.4, "estimate": "best run", "backend": "openblas", "dtype": "fp32",
 *                "shape": "2048x768x3072",
 *                "threads": 2, "measurements": [ {backend, dtype, shape, status, gflops, best_gflops,
 *                                                 runs, max_relative_error, note}, ... ] },
 *   "rows": [ {system, benchmark, model, layers, hidden, seq, batch_per_rank, global_batch, world, tp, dp,
 *              threads_per_rank, step_s, tokens_per_s, tflops, mfu, efficiency, detail, device, precision,
 *              step_s_no_reduction, exposed_comm}, ... ],
 *   "comparisons": [ {benchmark, model, world, tp, dp, tessera_tokens_per_s, pytorch_tokens_per_s,
 *                     throughput_ratio, tessera_efficiency, pytorch_efficiency, efficiency_ratio,
 *                     tessera_exposed_comm, pytorch_exposed_comm}, ... ],
 *   "notes": [ ... ] }
 * </pre>
 *
 * <p>{@code efficiency} is the throughput efficiency {@code throughput(N) / (N·throughput(1))}, which on a
 * CPU includes thread scaling; {@code exposed_comm} is {@code 1 − step_s_no_reduction / step_s} (see
 * {@link io.tessera.benchmarks.scaling.ExposedCommunication}), as measured, negative values included.
 *
 * <p>NaN (a figure that does not apply) is written as {@code null}. {@code "ceiling"} is null when the run
 * measured none.
 *
 * <p>Thread safety: stateless.
 */
public final class JsonReport {

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().serializeNulls().create();

    private JsonReport() {}

    /**
     * @param report the report
     * @return the JSON text
     */
    public static String toJson(Report report) {
        JsonObject root = new JsonObject();
        root.addProperty("benchmark", report.benchmark());
        JsonObject env = new JsonObject();
        for (Map.Entry<String, String> e : report.environment().entrySet()) {
            env.addProperty(e.getKey(), e.getValue());
        }
        root.add("environment", env);
        root.add("ceiling", report.ceiling() == null ? JsonNull.INSTANCE : ceiling(report.ceiling()));
        JsonArray rows = new JsonArray();
        for (ResultRow r : report.rows()) {
            rows.add(row(r));
        }
        root.add("rows", rows);
        JsonArray comps = new JsonArray();
        for (Comparison c : report.comparisons()) {
            JsonObject o = new JsonObject();
            o.addProperty("benchmark", c.tessera().benchmark());
            o.addProperty("model", c.tessera().model());
            o.addProperty("world", c.tessera().world());
            o.addProperty("tp", c.tessera().tp());
            o.addProperty("dp", c.tessera().dp());
            o.add("tessera_tokens_per_s", number(c.tessera().tokensPerSecond()));
            o.add("pytorch_tokens_per_s", number(c.pytorch().tokensPerSecond()));
            o.add("throughput_ratio", number(c.throughputRatio()));
            o.add("tessera_efficiency", number(c.tessera().efficiency()));
            o.add("pytorch_efficiency", number(c.pytorch().efficiency()));
            o.add("efficiency_ratio", number(c.efficiencyRatio()));
            o.add("tessera_exposed_comm", number(c.tessera().exposedComm()));
            o.add("pytorch_exposed_comm", number(c.pytorch().exposedComm()));
            comps.add(o);
        }
        root.add("comparisons", comps);
        JsonArray notes = new JsonArray();
        report.notes().forEach(notes::add);
        root.add("notes", notes);
        return GSON.toJson(root);
    }

    /**
     * Writes the report, creating parent directories.
     *
     * @param file destination
     * @param report the report
     * @throws IOException if the file cannot be written
     */
    public static void write(Path file, Report report) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(file, toJson(report) + System.lineSeparator(), StandardCharsets.UTF_8);
    }

    /**
     * @param r a row
     * @return its JSON object (snake_case keys)
     */
    public static JsonObject row(ResultRow r) {
        JsonObject o = new JsonObject();
        o.addProperty("system", r.system());
        o.addProperty("benchmark", r.benchmark());
        o.addProperty("model", r.model());
        o.addProperty("layers", r.layers());
        o.addProperty("hidden", r.hidden());
        o.addProperty("seq", r.seq());
        o.addProperty("batch_per_rank", r.batchPerRank());
        o.addProperty("global_batch", r.globalBatch());
        o.addProperty("world", r.world());
        o.addProperty("tp", r.tp());
        o.addProperty("dp", r.dp());
        o.addProperty("threads_per_rank", r.threadsPerRank());
        o.add("step_s", number(r.stepSeconds()));
        o.add("tokens_per_s", number(r.tokensPerSecond()));
        o.add("tflops", number(r.tflops()));
        o.add("mfu", number(r.mfu()));
        o.add("efficiency", number(r.efficiency()));
        o.addProperty("detail", r.detail());
        o.addProperty("device", r.device());
        o.addProperty("precision", r.precision());
        o.add("step_s_no_reduction", number(r.stepSecondsNoReduction()));
        o.add("exposed_comm", number(r.exposedComm()));
        return o;
    }

    private static JsonObject ceiling(Ceiling c) {
        JsonObject o = new JsonObject();
        MatmulMeasurement best = c.best();
        o.add("gflops", number(c.gflops()));
        o.addProperty("estimate", "best run");
        o.addProperty("backend", best.backend());
        o.addProperty("dtype", best.dtype());
        o.addProperty("shape", best.shape().toString());
        o.addProperty("threads", c.threads());
        JsonObject byType = new JsonObject();
        for (String dtype : java.util.List.of("fp32", "fp16", "bf16")) {
            c.best(dtype).ifPresent(m -> byType.add(dtype, number(m.bestGflops())));
        }
        o.add("gflops_by_dtype", byType);
        JsonArray all = new JsonArray();
        for (MatmulMeasurement m : c.measurements()) {
            JsonObject x = new JsonObject();
            x.addProperty("backend", m.backend());
            x.addProperty("dtype", m.dtype());
            x.addProperty("shape", m.shape().toString());
            x.addProperty("status", m.status().name().toLowerCase(Locale.ROOT));
            x.add("gflops", number(m.gflops()));
            x.add("best_gflops", number(m.bestGflops()));
            x.addProperty("runs", m.measured() ? m.samples().count() : 0);
            x.add("max_relative_error", number(m.maxRelativeError()));
            x.addProperty("note", m.note());
            all.add(x);
        }
        o.add("measurements", all);
        return o;
    }

    private static com.google.gson.JsonElement number(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? JsonNull.INSTANCE : new JsonPrimitive(v);
    }
}
