package io.tessera.core.gemm;

import java.util.Locale;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's default {@link Gemm} strategy of the model layers' matrix products (the linear layers
 * of attention and MLP, and the vocabulary projection). A run carries its own strategy in a
 * {@link io.tessera.core.Compute} and sets it on each step's tape ({@code Tape.gemm}); a tape without
 * one uses this default.
 *
 * <p>Chosen, in order, by {@link #use}, the system property {@value #PROPERTY} or the environment
 * variable {@value #ENV}: {@code planned} (the default: per product shape, the faster of libtorch and
 * OpenBLAS on this machine, measured once per machine and kept in a {@link GemmPlanCache}, so runs are
 * repeatable), {@code measured} (the same choice measured afresh in every process: for benchmarks;
 * results then depend on timing noise in the last bits), {@code openblas} or {@code libtorch}. Where
 * OpenBLAS cannot be loaded, {@code planned} and {@code measured} fall back to libtorch with a warning;
 * asking for {@code openblas} explicitly fails instead.
 *
 * <pre>{@code
 * TESSERA_GEMM=openblas bin/tessera pretrain ...   # or -Dtessera.gemm=openblas
 * Gemm g = Gemms.current();
 * }</pre>
 *
 * <p>With {@code libtorch} the layers keep their products inside their autograd nodes (as before the
 * strategies existed); with the others they record each product as a node with a hand-written backward.
 * Results agree to float rounding (about 1e-6 relative), not bit for bit.
 *
 * <p>Thread safety: thread-safe; one strategy for the whole process (all in-JVM ranks share it).
 */
public final class Gemms {

    /** The system property naming the strategy. */
    public static final String PROPERTY = "tessera.gemm";

    /** The environment variable naming the strategy (when the property is absent). */
    public static final String ENV = "TESSERA_GEMM";

    private static final Logger LOG = LoggerFactory.getLogger(Gemms.class);
    private static volatile Gemm current;

    private Gemms() {}

    /**
     * @return the strategy in force, created from the property or environment on first use
     * @throws IllegalArgumentException if the property or variable names no strategy
     * @throws IllegalStateException if {@code openblas} was asked for and cannot be loaded
     */
    public static Gemm current() {
        Gemm g = current;
        if (g == null) {
            synchronized (Gemms.class) {
                if (current == null) {
                    current = fromSetting(configured());
                }
                g = current;
            }
        }
        return g;
    }

    /**
     * Replaces the strategy for the whole process.
     *
     * @param backend the strategy to use from now on
     * @return the new strategy
     */
    public static Gemm use(GemmBackend backend) {
        Gemm g = create(Objects.requireNonNull(backend, "backend"), backend.optionName() + " (asked for)");
        synchronized (Gemms.class) {
            current = g;
        }
        return g;
    }

    /**
     * Makes a run's strategy take a recorded plan's per-shape decisions (a resumed run). A fixed
     * backend has no decisions to take; then a plan recorded under another strategy is reported.
     *
     * @param g the run's strategy ({@link io.tessera.core.Compute#gemm()})
     * @param plan the plan the run recorded
     * @return a line to tell the user when the plan cannot be followed exactly, else empty
     */
    public static java.util.Optional<String> adopt(Gemm g, GemmPlan plan) {
        Objects.requireNonNull(g, "g");
        if (g instanceof MeasuredGemm mg) {
            mg.adopt(plan);
            return java.util.Optional.empty();
        }
        if (!plan.strategy().equals(g.name())) {
            return java.util.Optional.of("the run was made with GEMM strategy '" + plan.strategy() + "' but this process uses '"
                    + g.name() + "'; results will differ in the last bits from the uninterrupted run (set " + ENV + "="
                    + plan.strategy() + " to follow it)");
        }
        return java.util.Optional.empty();
    }

    /**
     * @param g a strategy
     * @return whether it is libtorch's own product (then layers keep products inside autograd nodes)
     */
    public static boolean isLibtorch(Gemm g) {
        return g instanceof LibtorchGemm;
    }

    private static String configured() {
        String value = System.getProperty(PROPERTY);
        if (value == null || value.isBlank()) {
            value = System.getenv(ENV);
        }
        return value == null || value.isBlank() ? GemmBackend.PLANNED.optionName() : value;
    }

    private static Gemm fromSetting(String value) {
        GemmBackend backend;
        try {
            backend = GemmBackend.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(PROPERTY + " / " + ENV + " = '" + value + "': " + e.getMessage(), e);
        }
        return create(backend, value.trim().toLowerCase(Locale.ROOT));
    }

    private static Gemm create(GemmBackend backend, String source) {
        if (backend != GemmBackend.MEASURED && backend != GemmBackend.PLANNED) {
            return backend.create();
        }
        try {
            return backend.create();
        } catch (IllegalStateException | LinkageError e) {
            LOG.warn("gemm {}: OpenBLAS could not be loaded ({}); using libtorch's products", source, e.getMessage());
            return new LibtorchGemm();
        }
    }
}
