package io.tessera.benchmarks.ceiling;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The shape of one matrix product {@code C[m×n] = A[m×k] · B[k×n]}, which costs {@code 2·m·n·k} FLOPs.
 *
 * <p>Thread safety: immutable.
 *
 * @param m rows of A and C
 * @param k columns of A, rows of B
 * @param n columns of B and C
 */
public record MatmulShape(int m, int k, int n) {

    /**
     * BERT-base's MLP up-projection on 16 sequences of 128 tokens: {@code 2048×768 · 768×3072}, the shape
     * the ceiling is quoted on.
     */
    public static final MatmulShape BERT_MLP = new MatmulShape(2048, 768, 3072);

    /** A square product, {@code 2048×2048 · 2048×2048}. */
    public static final MatmulShape SQUARE = new MatmulShape(2048, 2048, 2048);

    /**
     * @throws IllegalArgumentException if a dimension is not positive
     */
    public MatmulShape {
        if (m < 1 || k < 1 || n < 1) {
            throw new IllegalArgumentException("matmul shape " + m + "x" + k + "·" + k + "x" + n
                    + ": every dimension must be at least 1");
        }
    }

    /**
     * Parses {@code MxKxN}, e.g. {@code 2048x768x3072} for {@code 2048×768 · 768×3072}.
     *
     * @param text the shape
     * @return the shape
     * @throws IllegalArgumentException if the text is not three positive integers joined by {@code x}
     */
    public static MatmulShape parse(String text) {
        String[] parts = text.trim().toLowerCase(Locale.ROOT).split("x");
        if (parts.length != 3) {
            throw new IllegalArgumentException("matmul shape '" + text + "': expected MxKxN, e.g. 2048x768x3072");
        }
        try {
            return new MatmulShape(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]), Integer.parseInt(parts[2]));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("matmul shape '" + text + "': expected MxKxN with integers, e.g. 2048x768x3072", e);
        }
    }

    /**
     * Parses a comma-separated list of {@link #parse shapes}.
     *
     * @param text e.g. {@code 2048x768x3072,2048x2048x2048}
     * @return the shapes in order
     */
    public static List<MatmulShape> parseList(String text) {
        List<MatmulShape> out = new ArrayList<>();
        for (String s : text.split(",")) {
            if (!s.isBlank()) {
                out.add(parse(s));
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("matmul shapes '" + text + "': give at least one MxKxN");
        }
        return out;
    }

    /** @return {@code 2·m·n·k} */
    public double flops() {
        return 2.0 * m * n * k;
    }

    /** @return {@code MxKxN} */
    @Override
    public String toString() {
        return m + "x" + k + "x" + n;
    }
}
