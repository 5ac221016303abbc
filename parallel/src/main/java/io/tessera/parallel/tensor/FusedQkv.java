package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.nn.Initializer;

/**
 * The layout of a fused query-key-value projection (GPT-2's {@code c_attn}) split over heads.
 *
 * <p>Hugging Face stores the {@code 3C} output features as {@code [q | k | v]}, each {@code C = A·D}
 * wide and ordered by head. Splitting that dimension into {@code p} equal slices would give rank 0 all
 * the queries and no values, so Tessera stores it <em>rank-major</em>: {@code [q_1 k_1 v_1 | … | q_p k_p
 * v_p]}, where {@code q_r} are the {@code C/p} query features of rank {@code r}'s heads. An equal split
 * then hands each rank exactly its heads' q, k and v. The permutation depends on {@code p}, so:
 * <ul>
 *   <li>{@link #initializer} draws the tensor in Hugging Face's order and permutes it, so that the
 *       model is the same at every degree;
 *   <li>checkpoint export and import call {@link #toHuggingFace} and {@link #toRankMajor} on the full
 *       (gathered) tensor.
 * </ul>
 *
 * <pre>
 *   features along dim:  Hugging Face  [ q(h0 h1 h2 h3) | k(h0 h1 h2 h3) | v(h0 h1 h2 h3) ]
 *                        rank-major p=2 [ q(h0 h1) k(h0 h1) v(h0 h1) | q(h2 h3) k(h2 h3) v(h2 h3) ]
 * </pre>
 *
 * <p>Thread safety: stateless.
 */
public final class FusedQkv {

    private FusedQkv() {}

    /**
     * @param hf a tensor whose dimension {@code dim} holds {@code [q | k | v]}
     * @param dim the fused dimension (1 for GPT-2's {@code [C, 3C]} weight, 0 for its bias)
     * @param degree the tensor-parallel degree
     * @return a new tensor, rank-major along {@code dim}
     */
    public static NDArray toRankMajor(NDArray hf, int dim, int degree) {
        return permute(hf, dim, 3, degree, degree);
    }

    /**
     * @param rankMajor a full tensor in Tessera's rank-major order along {@code dim}
     * @param dim the fused dimension
     * @param degree the tensor-parallel degree it was laid out for
     * @return a new tensor in Hugging Face's {@code [q | k | v]} order
     */
    public static NDArray toHuggingFace(NDArray rankMajor, int dim, int degree) {
        return permute(rankMajor, dim, degree, 3, degree);
    }

    /**
     * @param hfInit initialiser of the tensor in Hugging Face's order
     * @param dim the fused dimension
     * @param degree the tensor-parallel degree
     * @return an initialiser of the rank-major tensor
     */
    public static Initializer initializer(Initializer hfInit, int dim, int degree) {
        return (m, full, seed) -> toRankMajor(hfInit.full(m, full, seed), dim, degree);
    }

    /** Views dimension {@code dim} as {@code [outer, inner, rest]} and swaps {@code outer} and {@code inner}. */
    private static NDArray permute(NDArray x, int dim, int outer, int inner, int degree) {
        Shape s = x.getShape();
        if (degree < 1 || dim < 0 || dim >= s.dimension()) {
            throw new IllegalArgumentException("fused q/k/v permutation of " + s + " along dim " + dim + " for degree "
                    + degree + ": need a valid dimension and degree >= 1");
        }
        long n = s.get(dim);
        if (n % (3L * degree) != 0) {
            throw new IllegalArgumentException("fused q/k/v dimension " + dim + " of " + s + " has " + n
                    + " features, not divisible by 3 × tensor-parallel degree " + degree);
        }
        long before = 1;
        for (int d = 0; d < dim; d++) {
            before *= s.get(d);
        }
        long after = s.size() / before / n;
        return x.reshape(before, outer, inner, n / (outer * inner), after).transpose(0, 2, 1, 3, 4).reshape(s);
    }
}
