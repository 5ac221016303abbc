package io.tessera.benchmarks.ceiling;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.tessera.optim.plan.estimate.OpClass;
import io.tessera.optim.plan.estimate.OpCosts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * What {@code bench ops} measured: seconds per element of each {@link OpClass} and, optionally, the
 * FLOP-weighted rate of the layers' products, for one model shape and thread count. Written as JSON and
 * read back by {@code plan --estimate --ops-json}.
 *
 * <pre>
 *   {"benchmark": "ops", "shape": {"model": "bert-base", "layers": 2, "batch": 8, "seq": 128, ...},
 *    "threads": 2, "warmup": 2, "reps": 7, "environment": {...},
 *    "ops":  [{"class": "gelu", "tensor": "[1024, 3072]", "elements": 3145728, "forward_s": ..., "backward_s": ...,
 *              "seconds": ..., "seconds_per_element": ...}, ...],
 *    "gemm": {"strategy": "planned", "gflops": 61.2, "products": [{"shape": "1024x768x3072", "count": 2,
 *              "gflops": ...}, ...]}}
 * </pre>
 *
 * <p>Thread safety: immutable.
 *
 * @param shape the model shape the tensors had
 * @param threads intra-op threads
 * @param warmup untimed runs per op
 * @param reps timed runs per op
 * @param ops one row per class
 * @param gemm the products' rate, or null when not measured
 * @param environment machine and library versions, load
 */
public record OpsReport(Shape shape, int threads, int warmup, int reps, List<Op> ops, Gemm gemm,
                        Map<String, String> environment) {

    /**
     * The model shape of a report.
     *
     * @param model preset name
     * @param layers L
     * @param batch b
     * @param seq s
     * @param hidden h
     * @param heads A
     * @param ffn f
     * @param vocab V', padded
     */
    public record Shape(String model, int layers, int batch, int seq, int hidden, int heads, int ffn, int vocab) {

        /** @return e.g. {@code bert-base L2 b8 s128} */
        public String label() {
            return model + " L" + layers + " b" + batch + " s" + seq;
        }
    }

    /**
     * One class's measurement.
     *
     * @param opClass the class
     * @param tensor the tensor it ran on, e.g. {@code [8, 12, 128, 128]}
     * @param elements elements the cost is divided by
     * @param forwardSeconds median forward time
     * @param backwardSeconds median backward time (0 for ops without one)
     * @param seconds median of forward + backward per run
     */
    public record Op(OpClass opClass, String tensor, long elements, double forwardSeconds, double backwardSeconds,
                     double seconds) {

        /** @return {@code seconds / elements} */
        public double secondsPerElement() {
            return seconds / elements;
        }
    }

    /**
     * The layers' products on Tessera's GEMM strategy.
     *
     * @param strategy the strategy's name, e.g. {@code planned}
     * @param gflops {@code Σ count·FLOPs / Σ count·median seconds} over the products of one step
     * @param products one row per distinct linear-layer shape
     */
    public record Gemm(String strategy, double gflops, List<Product> products) {}

    /**
     * One linear layer shape: forward, input gradient and weight gradient together.
     *
     * @param shape {@code MxKxN}: tokens × in × out
     * @param count how many such layers one step runs
     * @param gflops {@code 3 · 2MKN / median seconds}
     */
    public record Product(String shape, int count, double gflops) {}

    /** @throws NullPointerException for a missing part */
    public OpsReport {
        Objects.requireNonNull(shape, "shape");
        ops = List.copyOf(ops);
        environment = Map.copyOf(environment);
    }

    /** @return the per-element costs, named by {@code source} */
    public OpCosts costs(String source) {
        EnumMap<OpClass, Double> m = new EnumMap<>(OpClass.class);
        for (Op o : ops) {
            m.put(o.opClass(), o.secondsPerElement());
        }
        return new OpCosts(m, source);
    }

    /** @return the report as JSON text */
    public String toJson() {
        JsonObject j = new JsonObject();
        j.addProperty("benchmark", "ops");
        JsonObject s = new JsonObject();
        s.addProperty("model", shape.model());
        s.addProperty("layers", shape.layers());
        s.addProperty("batch", shape.batch());
        s.addProperty("seq", shape.seq());
        s.addProperty("hidden", shape.hidden());
        s.addProperty("heads", shape.heads());
        s.addProperty("ffn", shape.ffn());
        s.addProperty("vocab", shape.vocab());
        j.add("shape", s);
        j.addProperty("threads", threads);
        j.addProperty("warmup", warmup);
        j.addProperty("reps", reps);
        JsonObject env = new JsonObject();
        environment.forEach(env::addProperty);
        j.add("environment", env);
        JsonArray rows = new JsonArray();
        for (Op o : ops) {
            JsonObject r = new JsonObject();
            r.addProperty("class", o.opClass().key());
            r.addProperty("tensor", o.tensor());
            r.addProperty("elements", o.elements());
            r.addProperty("forward_s", o.forwardSeconds());
            r.addProperty("backward_s", o.backwardSeconds());
            r.addProperty("seconds", o.seconds());
            r.addProperty("seconds_per_element", o.secondsPerElement());
            rows.add(r);
        }
        j.add("ops", rows);
        if (gemm != null) {
            JsonObject g = new JsonObject();
            g.addProperty("strategy", gemm.strategy());
            g.addProperty("gflops", gemm.gflops());
            JsonArray ps = new JsonArray();
            for (Product p : gemm.products()) {
                JsonObject r = new JsonObject();
                r.addProperty("shape", p.shape());
                r.addProperty("count", p.count());
                r.addProperty("gflops", p.gflops());
                ps.add(r);
            }
            g.add("products", ps);
            j.add("gemm", g);
        }
        Gson gson = new GsonBuilder().setPrettyPrinting().create();
        return gson.toJson(j) + "\n";
    }

    /**
     * @param file where to write {@link #toJson()}
     * @throws IOException if it cannot be written
     */
    public void write(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(file, toJson(), StandardCharsets.UTF_8);
    }

    /**
     * Reads a report written by {@link #write}.
     *
     * @param file the JSON file
     * @return the report
     * @throws IOException if it cannot be read
     * @throws IllegalArgumentException naming the file and what is missing or wrong in it
     */
    public static OpsReport read(Path file) throws IOException {
        return parse(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    }

    /**
     * @param json the text of a report
     * @param source its name, for messages
     * @return the report
     * @throws IllegalArgumentException naming the source and what is missing or wrong
     */
    public static OpsReport parse(String json, String source) {
        String hint = "; write it with bin/tessera bench ops --json FILE";
        try {
            JsonObject j = JsonParser.parseString(json).getAsJsonObject();
            if (!j.has("benchmark") || !"ops".equals(j.get("benchmark").getAsString())) {
                throw new IllegalArgumentException(source + " is not a bench ops report (no \"benchmark\": \"ops\")" + hint);
            }
            JsonObject s = member(j, "shape", source).getAsJsonObject();
            Shape shape = new Shape(member(s, "model", source).getAsString(), member(s, "layers", source).getAsInt(),
                    member(s, "batch", source).getAsInt(), member(s, "seq", source).getAsInt(),
                    member(s, "hidden", source).getAsInt(), member(s, "heads", source).getAsInt(),
                    member(s, "ffn", source).getAsInt(), member(s, "vocab", source).getAsInt());
            List<Op> ops = new ArrayList<>();
            for (JsonElement e : member(j, "ops", source).getAsJsonArray()) {
                JsonObject r = e.getAsJsonObject();
                ops.add(new Op(OpClass.ofKey(member(r, "class", source).getAsString()), r.has("tensor") ? r.get("tensor").getAsString() : "",
                        member(r, "elements", source).getAsLong(), r.has("forward_s") ? r.get("forward_s").getAsDouble() : Double.NaN,
                        r.has("backward_s") ? r.get("backward_s").getAsDouble() : Double.NaN,
                        member(r, "seconds", source).getAsDouble()));
            }
            if (ops.isEmpty()) {
                throw new IllegalArgumentException(source + " has no op rows" + hint);
            }
            Gemm gemm = null;
            if (j.has("gemm") && !j.get("gemm").isJsonNull()) {
                JsonObject g = j.getAsJsonObject("gemm");
                List<Product> products = new ArrayList<>();
                if (g.has("products")) {
                    for (JsonElement e : g.getAsJsonArray("products")) {
                        JsonObject p = e.getAsJsonObject();
                        products.add(new Product(p.get("shape").getAsString(), p.get("count").getAsInt(), p.get("gflops").getAsDouble()));
                    }
                }
                gemm = new Gemm(g.has("strategy") ? g.get("strategy").getAsString() : "?", member(g, "gflops", source).getAsDouble(),
                        products);
            }
            Map<String, String> env = new LinkedHashMap<>();
            if (j.has("environment")) {
                j.getAsJsonObject("environment").entrySet().forEach(e -> env.put(e.getKey(), e.getValue().getAsString()));
            }
            return new OpsReport(shape, j.has("threads") ? j.get("threads").getAsInt() : 0, j.has("warmup") ? j.get("warmup").getAsInt() : 0,
                    j.has("reps") ? j.get("reps").getAsInt() : 0, ops, gemm, env);
        } catch (IllegalStateException | UnsupportedOperationException | com.google.gson.JsonParseException | NumberFormatException e) {
            throw new IllegalArgumentException(source + " is not a readable bench ops report: " + e.getMessage() + hint, e);
        }
    }

    /** @return the console table: one line per class, then the GEMM rate */
    public String table() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-14s %-22s %12s %11s %11s %13s%n", "class", "tensor", "elements", "forward ms",
                "backward ms", "ns/element"));
        for (Op o : ops) {
            b.append(String.format(Locale.ROOT, "%-14s %-22s %,12d %11.3f %11.3f %13.4f%n", o.opClass().key(), o.tensor(),
                    o.elements(), 1e3 * o.forwardSeconds(), 1e3 * o.backwardSeconds(), 1e9 * o.secondsPerElement()));
        }
        if (gemm != null) {
            for (Product p : gemm.products()) {
                b.append(String.format(Locale.ROOT, "gemm %-16s x%-3d %8.1f GFLOP/s (forward + both gradients)%n", p.shape(),
                        p.count(), p.gflops()));
            }
            b.append(String.format(Locale.ROOT, "gemm rate of one step's linear layers (%s): %.1f GFLOP/s%n", gemm.strategy(),
                    gemm.gflops()));
        }
        return b.toString();
    }

    private static JsonElement member(JsonObject o, String name, String source) {
        JsonElement e = o.get(name);
        if (e == null || e.isJsonNull()) {
            throw new IllegalArgumentException(source + ": \"" + name + "\" is missing; write the file with bin/tessera bench ops --json FILE");
        }
        return e;
    }
}
