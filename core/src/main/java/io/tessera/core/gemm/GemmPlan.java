package io.tessera.core.gemm;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import io.tessera.core.io.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Which backend computes each product shape: the record that makes a {@link MeasuredGemm}'s choices
 * repeatable. A run writes the plan it used into its folder ({@value #RUN_FILE}) and a resumed run
 * adopts it ({@link MeasuredGemm#adopt}), so the resumed steps make the same products as the
 * uninterrupted run would have, whatever the timings on the day.
 *
 * <pre>{@code
 * {"strategy": "planned", "decisions": {"256x64x256 NT": "libtorch", "64x256x256 TN": "openblas"}}
 * }</pre>
 *
 * <p>Keys are {@link MeasuredGemm.Key#toString()}; values are backend names ({@link Gemm#name()}).
 *
 * @param strategy the strategy that used the plan ({@code planned}, {@code measured}, or a fixed backend
 *     whose plan is empty)
 * @param decisions shape key to backend name, in the order the shapes were first met
 */
public record GemmPlan(String strategy, Map<String, String> decisions) {

    /** The plan's file name in a run folder. */
    public static final String RUN_FILE = "gemm-plan.json";

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();

    public GemmPlan {
        Objects.requireNonNull(strategy, "strategy");
        decisions = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(decisions, "decisions")));
    }

    /**
     * The plan of the strategy in force: its decisions so far when it chooses per shape, else empty.
     *
     * @param gemm a strategy
     * @return its plan
     */
    public static GemmPlan of(Gemm gemm) {
        return gemm instanceof MeasuredGemm mg ? mg.plan() : new GemmPlan(gemm.name(), Map.of());
    }

    /**
     * Writes the plan atomically.
     *
     * @param file the target
     * @throws IOException if writing fails (the file is then unchanged)
     */
    public void write(Path file) throws IOException {
        AtomicFiles.write(file, GSON.toJson(this).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * @param file a file written by {@link #write}
     * @return the plan
     * @throws IOException if it cannot be read or is not a plan
     */
    public static GemmPlan read(Path file) throws IOException {
        try {
            GemmPlan p = GSON.fromJson(Files.readString(file, StandardCharsets.UTF_8), GemmPlan.class);
            if (p == null || p.strategy() == null || p.decisions() == null) {
                throw new JsonParseException("missing \"strategy\" or \"decisions\"");
            }
            return new GemmPlan(p.strategy(), p.decisions());
        } catch (JsonParseException e) {
            throw new IOException(file + " is not a GEMM plan (" + e.getMessage() + "); delete it to measure the shapes again", e);
        }
    }
}
