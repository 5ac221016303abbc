package io.tessera.models.albert;

import ai.djl.ndarray.NDList;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.ModuleGroup;
import io.tessera.models.TransformerLayer;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.BiasDropoutAdd;
import io.tessera.parallel.tensor.LayerNorm;
import io.tessera.parallel.tensor.ParallelMLP;
import io.tessera.parallel.tensor.ParallelSelfAttention;
import io.tessera.parallel.tensor.TensorParallelRng;
import io.tessera.parallel.tensor.WeightLayout;

/**
 * One ALBERT layer, as Hugging Face's {@code AlbertLayer} (post-LN):
 * <pre>
 *   h = LN_a(x + drop(Attn(x)))                 attention.{query,key,value,dense}, attention.LayerNorm
 *   y = LN_f(h + W_o·act(W_i·h + b_i) + b_o)     ffn, ffn_output, full_layer_layer_norm   (no dropout here)
 * </pre>
 * Shapes: x, h, y {@code [B, T, H]}. Attention heads and the FFN's inner features are split over the
 * tensor-parallel group as in {@link TransformerLayer}: two all-reduces forward, two backward.
 *
 * <p>One instance is one set of parameters. The model calls {@link #forward} once per depth step that
 * uses it; every call records its own nodes, so backward adds each use's gradient into the same
 * parameter (the sum over uses).
 *
 * <p>Thread safety: not thread-safe; belongs to one rank.
 */
public final class AlbertLayer extends Module {

    private final ParallelSelfAttention attention;
    private final ParallelMLP mlp;
    private final LayerNorm attentionLayerNorm;
    private final LayerNorm fullLayerLayerNorm;
    private final BiasDropoutAdd attentionResidual;
    private final BiasDropoutAdd ffnResidual;
    private final boolean checkpoint;

    /**
     * Declares a layer; allocates nothing.
     *
     * @param c an ALBERT configuration, already validated for the degree
     * @param pc this rank's parallel context
     * @param checkpoint whether attention and FFN nodes recompute in backward
     */
    AlbertLayer(TransformerConfig c, ParallelContext pc, boolean checkpoint) {
        this.checkpoint = checkpoint;
        int h = c.hiddenSize();
        Initializer init = Initializer.normal((float) c.initializerRange());
        this.attention = ParallelSelfAttention.builder(pc, h, c.numHeads()).optLayout(WeightLayout.OUT_IN)
                .optAttentionDropout(c.attentionDropout()).optInitializer(init).optOutputInitializer(init).build();
        this.mlp = ParallelMLP.builder(pc, h, c.intermediateSize()).optLayout(WeightLayout.OUT_IN)
                .optActivation(TransformerLayer.gelu(c.hiddenAct())).optInitializer(init).optOutputInitializer(init).build();
        this.attentionLayerNorm = new LayerNorm(h, c.layerNormEps());
        this.fullLayerLayerNorm = new LayerNorm(h, c.layerNormEps());
        this.attentionResidual = new BiasDropoutAdd(c.hiddenDropout(), new TensorParallelRng(pc.tensorRank()));
        this.ffnResidual = new BiasDropoutAdd(0, new TensorParallelRng(pc.tensorRank()));
        register("full_layer_layer_norm", fullLayerLayerNorm);
        ModuleGroup attn = register("attention", new ModuleGroup());
        attn.add("query", attention.query());
        attn.add("key", attention.key());
        attn.add("value", attention.value());
        attn.add("dense", attention.output());
        attn.add("LayerNorm", attentionLayerNorm);
        register("ffn", mlp.fc());
        register("ffn_output", mlp.proj());
    }

    /** @return the attention block */
    public ParallelSelfAttention attention() {
        return attention;
    }

    /** @return the feed-forward block ({@code ffn}, {@code ffn_output}) */
    public ParallelMLP mlp() {
        return mlp;
    }

    /**
     * Records one use of the layer.
     *
     * @param tape the step's tape
     * @param prefix node-name prefix of this use, e.g. {@code albert.encoder.layer.5.0}
     * @param x {@code [B, T, H]}, replicated
     * @param attentionMask {@code [B, T]} 0/1, or null
     * @return {@code [B, T, H]}, replicated
     */
    public Var forward(Tape tape, String prefix, Var x, Var attentionMask) {
        Parameter attnBias = attention.output().bias();
        Parameter ffnBias = mlp.proj().bias();
        Var a = attention.forwardWithoutOutputBias(tape, prefix + ".attention", x, attentionMask, checkpoint);
        Var h = tape.apply1(prefix + ".attention.output", false, (ctx, in) -> new NDList(
                attentionLayerNorm.apply(ctx, attentionResidual.apply(ctx, in.get(0), attnBias, in.get(1), 0))), a, x);
        Var m = mlp.forwardWithoutOutputBias(tape, prefix + ".ffn", h, checkpoint);
        return tape.apply1(prefix + ".full_layer", false, (ctx, in) -> new NDList(
                fullLayerLayerNorm.apply(ctx, ffnResidual.apply(ctx, in.get(0), ffnBias, in.get(1), 0))), m, h);
    }
}
