package io.tessera.core.gemm;

import java.util.Locale;

/**
 * The {@link Gemm} strategies by name, for command-line options ({@code --gemm libtorch|openblas|measured}).
 *
 * <p>Thread safety: immutable enum.
 */
public enum GemmBackend {
    /** {@link LibtorchGemm}: DJL's libtorch (MKL). */
    LIBTORCH,
    /** {@link OpenBlasGemm}: OpenBLAS through JavaCPP on zero-copy buffers. */
    OPENBLAS,
    /** {@link MeasuredGemm#ofDefaults()}: the faster of the two, per shape, measured on first use. */
    MEASURED;

    /** @return a new strategy of this kind */
    public Gemm create() {
        return switch (this) {
            case LIBTORCH -> new LibtorchGemm();
            case OPENBLAS -> new OpenBlasGemm();
            case MEASURED -> MeasuredGemm.ofDefaults();
        };
    }

    /** @return the option spelling, e.g. {@code openblas} */
    public String optionName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses an option value, any case.
     *
     * @param text {@code libtorch}, {@code openblas} or {@code measured}
     * @return the backend
     * @throws IllegalArgumentException naming the accepted values
     */
    public static GemmBackend parse(String text) {
        for (GemmBackend b : values()) {
            if (b.optionName().equals(text.trim().toLowerCase(Locale.ROOT))) {
                return b;
            }
        }
        throw new IllegalArgumentException("gemm backend '" + text + "': expected libtorch, openblas or measured");
    }
}
