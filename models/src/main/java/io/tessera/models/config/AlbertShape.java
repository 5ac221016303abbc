package io.tessera.models.config;

import java.util.List;

/**
 * ALBERT's two parameter reductions and its sentence-order head's dropout, as Hugging Face's
 * {@code AlbertConfig} names them.
 *
 * <pre>
 *   embeddings    V·E + P·E + T·E, LayerNorm(E), then embedding_hidden_mapping_in: E → H
 *   sharing       G = numHiddenGroups groups of K = innerGroupNum layers each; depth step l ∈ [0, L)
 *                 runs the K layers of group g(l) = floor(l / (L / G)) in order, so the encoder applies
 *                 L·K layers but holds only G·K of them
 * </pre>
 *
 * <p>E may be smaller or larger than H (the mapping works either way). L must be divisible by G: with a
 * remainder, Hugging Face's {@code int(l / (L / G))} gives the groups unequal depths.
 *
 * <p>Thread safety: immutable record, safe to share.
 *
 * @param embeddingSize E, {@code embedding_size}
 * @param numHiddenGroups G, {@code num_hidden_groups}
 * @param innerGroupNum K, {@code inner_group_num}
 * @param classifierDropout {@code classifier_dropout_prob}, the dropout on the pooled output before the
 *     sentence-order classifier
 */
public record AlbertShape(int embeddingSize, int numHiddenGroups, int innerGroupNum, double classifierDropout) {

    /** Hugging Face's {@code AlbertConfig} defaults: E 128, one group of one layer, classifier dropout 0.1. */
    public static final AlbertShape DEFAULT = new AlbertShape(128, 1, 1, 0.1);

    /**
     * @param l a depth step in [0, L)
     * @param numLayers L
     * @return the group that step runs
     */
    public int groupOf(int l, int numLayers) {
        return (int) (l / ((double) numLayers / numHiddenGroups));
    }

    /** Adds a message naming field, value, rule and fix for each invalid field. */
    void check(List<String> p, int numLayers) {
        if (embeddingSize <= 0) {
            p.add("embeddingSize (embedding_size) = " + embeddingSize + " must be positive: it is the width E of the"
                    + " token, position and token-type embeddings; use 128 as every released ALBERT does");
        }
        if (numHiddenGroups <= 0) {
            p.add("numHiddenGroups (num_hidden_groups) = " + numHiddenGroups + " must be positive: it is the number"
                    + " of distinct layer groups; use 1 (all layers shared) as every released ALBERT does");
        } else if (numLayers > 0 && numLayers % numHiddenGroups != 0) {
            p.add("numLayers (num_hidden_layers) = " + numLayers + " is not divisible by numHiddenGroups"
                    + " (num_hidden_groups) = " + numHiddenGroups + ": each group must cover numLayers / numHiddenGroups"
                    + " consecutive layers; choose numHiddenGroups from " + TransformerConfig.divisors(numLayers));
        }
        if (innerGroupNum <= 0) {
            p.add("innerGroupNum (inner_group_num) = " + innerGroupNum + " must be positive: it is the number of"
                    + " layers inside each group; use 1 as every released ALBERT does");
        }
        if (!(classifierDropout >= 0 && classifierDropout < 1)) {
            p.add("classifierDropout (classifier_dropout_prob) = " + classifierDropout + " must be a probability in"
                    + " [0, 1); use 0.1 as AlbertConfig does, or 0 to disable it");
        }
    }
}
