package io.tessera.core.gemm;

import java.util.Locale;

/**
 * The {@link Gemm} strategies by name, for command-line options ({@code --gemm planned|measured|openblas|libtorch}).
 *
 * <p>Thread safety: immutable enum.
 */
public enum GemmBackend {
    /** {@link LibtorchGemm}: DJL's libtorch (MKL). */
    LIBTORCH,
    /** {@link OpenBlasGemm}: OpenBLAS through JavaCPP on zero-copy buffers. */
    OPENBLAS,
    /** {@link MeasuredGemm#ofDefaults()}: the faster of the two, per shape, measured afresh in every process (benchmarks). */
    MEASURED,
    /**
     * {@link MeasuredGemm#planned}: the faster of the two, per shape, measured once per machine and kept in
     * {@link GemmPlanCache#configured()}, so that every process and run on the machine agrees (the default).
     */
    PLANNED;

    /** @return a new strategy of this kind */
    public Gemm create() {
        return switch (this) {
            case LIBTORCH -> new LibtorchGemm();
            case OPENBLAS -> new OpenBlasGemm();
            case MEASURED -> MeasuredGemm.ofDefaults();
            case PLANNED -> MeasuredGemm.planned(GemmPlanCache.configured());
        };
    }

    /** @return the option spelling, e.g. {@code openblas} */
    public String optionName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses an option value, any case.
     *
     * @param text {@code libtorch}, {@code openblas}, {@code measured} or {@code planned}
     * @return the backend
     * @throws IllegalArgumentException naming the accepted values
     */
    public static GemmBackend parse(String text) {
        for (GemmBackend b : values()) {
            if (b.optionName().equals(text.trim().toLowerCase(Locale.ROOT))) {
                return b;
            }
        }
        throw new IllegalArgumentException("gemm backend '" + text + "': expected planned (the default), measured, openblas or libtorch");
    }
}
