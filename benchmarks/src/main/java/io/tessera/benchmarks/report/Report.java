package io.tessera.benchmarks.report;

import io.tessera.benchmarks.ceiling.Ceiling;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything one benchmark run measured: the environment, the matrix-product ceiling, the result rows
 * and notes (skipped parts, with the reason). {@link JsonReport}, {@link CsvReport}, {@link ConsoleTable}
 * and {@link Plots} write it.
 *
 * <p>Thread safety: immutable.
 *
 * @param benchmark {@code ceiling}, {@code step} or {@code scaling}
 * @param environment machine and library facts, e.g. {@code cores}, {@code libtorch}, {@code pytorch}
 * @param ceiling the ceiling measured in this run, or null if none was
 * @param rows the measured rows
 * @param notes free-text lines (skips, warnings)
 */
public record Report(String benchmark, Map<String, String> environment, Ceiling ceiling, List<ResultRow> rows,
                     List<String> notes) {

    /** Copies the collections. */
    public Report {
        Objects.requireNonNull(benchmark, "benchmark");
        environment = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(environment, "environment")));
        rows = List.copyOf(Objects.requireNonNull(rows, "rows"));
        notes = List.copyOf(Objects.requireNonNull(notes, "notes"));
    }

    /** @return Tessera/PyTorch pairs among the rows */
    public List<Comparison> comparisons() {
        return Comparison.of(rows);
    }
}
