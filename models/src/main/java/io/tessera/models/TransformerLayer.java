package io.tessera.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.config.Activation;
import io.tessera.models.config.Architecture;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.tensor.BiasDropoutAdd;
import io.tessera.parallel.tensor.Dropout;
import io.tessera.parallel.tensor.Gelu;
import io.tessera.parallel.tensor.LayerNorm;
import io.tessera.parallel.tensor.ParallelMLP;
import io.tessera.parallel.tensor.ParallelSelfAttention;
import io.tessera.parallel.tensor.SequenceParallel;
import io.tessera.parallel.tensor.SequenceParallelFunction;
import io.tessera.parallel.tensor.TensorParallelRng;
import io.tessera.parallel.tensor.WeightLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One Transformer layer, post-LN (original BERT) or pre-LN (Megatron-BERT, GPT-2):
 * <pre>
 *   post-LN:  h = LN_1(x + drop(Attn(x)))              pre-LN:  r = x + drop(Attn(LN_1(x)))
 *             y = LN_2(h + drop(MLP(h)))                        y = r + drop(MLP(LN_2(r)))
 * </pre>
 * with {@link ParallelSelfAttention} (heads split over the tensor-parallel group) and
 * {@link ParallelMLP} (inner features split). Shapes: x, y {@code [B, T, C]}.
 *
 * <p>Nodes per layer: the attention block ({@code f}, one node, {@code g}), one node for output bias +
 * dropout + residual (+ the following LayerNorm), the MLP block ({@code f}, one node, {@code g}) and one
 * node for its bias + dropout + residual (+ LayerNorm); pre-LN adds one node for {@code LN_1}. Collectives
 * per layer: two all-reduces forward, two backward.
 *
 * <p>Sequence parallelism ({@link #of(TransformerConfig, ParallelContext, boolean, boolean)}, see
 * {@link SequenceParallel}): x and y are this rank's positions {@code [B, T/p, C]}, the attention mask
 * stays {@code [B, T]} (attention runs on the gathered sequence). Each block's {@code f} becomes a
 * sequence all-gather and its {@code g} a sequence reduce-scatter; the LayerNorm and residual nodes run
 * on the shards as {@link SequenceParallelFunction}s, which sum the gradients of the LayerNorm weights
 * and biases and of the row-parallel output biases over the tensor-parallel group (one small all-reduce
 * per such node in backward), and hidden dropout draws a different mask on every rank
 * ({@link Dropout.Region#SPLIT}). Collectives per layer: two all-gathers and two reduce-scatters
 * forward, the same backward, plus the parameter-gradient all-reduces ({@code 2C} to {@code 3C}
 * elements each).
 *
 * <p>Parameter names follow the family's Hugging Face classes:
 * <pre>
 *   BERT (post-LN)  attention.self.{query,key,value}  attention.output.{dense,LayerNorm}
 *                   intermediate.dense  output.{dense,LayerNorm}
 *   Megatron-BERT   attention.ln  attention.self.{query,key,value}  attention.output.dense
 *                   ln  intermediate.dense  output.dense
 *   GPT-2           ln_1  attn.{c_attn,c_proj}  ln_2  mlp.{c_fc,c_proj}     (Conv1D layout [in, out])
 *   DistilBERT      attention.{q_lin,k_lin,v_lin,out_lin}  sa_layer_norm  ffn.{lin1,lin2}  output_layer_norm
 * </pre>
 * RoBERTa's layers are BERT's (post-LN, same names).
 *
 * <p>Thread safety: not thread-safe; belongs to one rank.
 */
public final class TransformerLayer extends Module {

    /** Node-name suffixes of one family. */
    private record NodeNames(String ln1, String attention, String attentionResidual, String mlp, String mlpResidual) {}

    private static final NodeNames BERT = new NodeNames(".attention.ln", ".attention.self", ".attention.output",
            ".intermediate", ".output");
    private static final NodeNames GPT2 = new NodeNames(".ln_1", ".attn", ".ln_2", ".mlp", ".mlp.residual");
    private static final NodeNames DISTILBERT = new NodeNames(".sa_layer_norm", ".attention", ".sa_layer_norm", ".ffn",
            ".output_layer_norm");

    private final ParallelSelfAttention attention;
    private final ParallelMLP mlp;
    private final LayerNorm ln1;
    private final LayerNorm ln2;
    private final boolean preLayerNorm;
    private final BiasDropoutAdd residual;
    private final NodeNames names;
    private final boolean checkpoint;
    private final boolean sequenceParallel;
    private final Communicator group;

    private TransformerLayer(TransformerConfig c, ParallelContext pc, boolean checkpoint, boolean sequenceParallel) {
        this.checkpoint = checkpoint;
        this.sequenceParallel = sequenceParallel;
        this.group = pc.tensor();
        boolean gpt2 = c.architecture() == Architecture.GPT2;
        boolean distil = c.architecture() == Architecture.DISTILBERT;
        int h = c.hiddenSize();
        Initializer init = Initializer.normal((float) c.initializerRange());
        // GPT-2 scales the residual projections by 1/sqrt(2L) (Hugging Face's GPT2PreTrainedModel._init_weights).
        Initializer outInit = gpt2 ? Initializer.normal((float) (c.initializerRange() / Math.sqrt(2.0 * c.numLayers()))) : init;
        WeightLayout layout = gpt2 ? WeightLayout.IN_OUT : WeightLayout.OUT_IN;
        this.attention = ParallelSelfAttention.builder(pc, h, c.numHeads()).optFusedQkv(gpt2).optCausal(gpt2)
                .optLayout(layout).optAttentionDropout(c.attentionDropout()).optInitializer(init).optOutputInitializer(outInit)
                .optSequenceParallel(sequenceParallel).build();
        this.mlp = ParallelMLP.builder(pc, h, c.intermediateSize()).optLayout(layout)
                .optActivation(gelu(c.hiddenAct())).optInitializer(init).optOutputInitializer(outInit)
                .optSequenceParallel(sequenceParallel).build();
        this.ln1 = new LayerNorm(h, c.layerNormEps());
        this.ln2 = new LayerNorm(h, c.layerNormEps());
        this.preLayerNorm = c.preLayerNorm();
        // On sequence shards each rank holds other positions, so hidden dropout draws its own mask (TensorParallelRng).
        this.residual = new BiasDropoutAdd(c.hiddenDropout(), sequenceParallel ? Dropout.Region.SPLIT : Dropout.Region.REPLICATED,
                new TensorParallelRng(pc.tensorRank()));
        this.names = gpt2 ? GPT2 : distil ? DISTILBERT : BERT;
        if (gpt2) {
            register("ln_1", ln1);
            ModuleGroup attn = register("attn", new ModuleGroup());
            attn.add("c_attn", attention.fusedQkv());
            attn.add("c_proj", attention.output());
            register("ln_2", ln2);
            ModuleGroup m = register("mlp", new ModuleGroup());
            m.add("c_fc", mlp.fc());
            m.add("c_proj", mlp.proj());
        } else if (distil) {
            ModuleGroup attn = register("attention", new ModuleGroup());
            attn.add("q_lin", attention.query());
            attn.add("k_lin", attention.key());
            attn.add("v_lin", attention.value());
            attn.add("out_lin", attention.output());
            register("sa_layer_norm", ln1);
            ModuleGroup ffn = register("ffn", new ModuleGroup());
            ffn.add("lin1", mlp.fc());
            ffn.add("lin2", mlp.proj());
            register("output_layer_norm", ln2);
        } else {
            ModuleGroup attn = register("attention", new ModuleGroup());
            if (preLayerNorm) {
                attn.add("ln", ln1);
            }
            ModuleGroup self = attn.add("self", new ModuleGroup());
            self.add("query", attention.query());
            self.add("key", attention.key());
            self.add("value", attention.value());
            ModuleGroup out = attn.add("output", new ModuleGroup());
            out.add("dense", attention.output());
            if (!preLayerNorm) {
                out.add("LayerNorm", ln1);
            } else {
                register("ln", ln2);
            }
            register("intermediate", new ModuleGroup()).add("dense", mlp.fc());
            ModuleGroup output = register("output", new ModuleGroup());
            output.add("dense", mlp.proj());
            if (!preLayerNorm) {
                output.add("LayerNorm", ln2);
            }
        }
    }

    /**
     * Declares a layer of the configuration's family; allocates nothing.
     *
     * @param config the model configuration (already validated for the degree)
     * @param parallel this rank's parallel context
     * @param checkpointActivations whether the attention and MLP nodes keep only their inputs and
     *     recompute in backward (activation checkpointing)
     * @return the layer
     */
    public static TransformerLayer of(TransformerConfig config, ParallelContext parallel, boolean checkpointActivations) {
        return of(config, parallel, checkpointActivations, false);
    }

    /**
     * Declares a layer of the configuration's family, optionally sequence-parallel; allocates nothing.
     *
     * <p>With {@code sequenceParallel} the layer takes and returns this rank's sequence positions
     * {@code [B, T/p, C]}: the model enters the region once after its embeddings
     * ({@link SequenceParallel#scatter}) and leaves it once after its last layer
     * ({@link SequenceParallel#gather}). At degree 1 it is the same layer as without.
     *
     * @param config the model configuration (already validated for the degree)
     * @param parallel this rank's parallel context
     * @param checkpointActivations whether the attention and MLP nodes keep only their inputs and
     *     recompute in backward (activation checkpointing)
     * @param sequenceParallel whether the LayerNorm, dropout and residual regions are split along the
     *     sequence across the tensor-parallel group
     * @return the layer
     */
    public static TransformerLayer of(TransformerConfig config, ParallelContext parallel, boolean checkpointActivations,
                                      boolean sequenceParallel) {
        return new TransformerLayer(config, parallel, checkpointActivations, sequenceParallel);
    }

    /**
     * @param activation the configuration's activation
     * @return the matching GELU variant
     */
    public static Gelu gelu(Activation activation) {
        return activation == Activation.GELU ? Gelu.EXACT : Gelu.TANH;
    }

    /** @return the attention block */
    public ParallelSelfAttention attention() {
        return attention;
    }

    /** @return the MLP block */
    public ParallelMLP mlp() {
        return mlp;
    }

    /** @return whether the layer takes and returns sequence shards {@code [B, T/p, C]} */
    public boolean sequenceParallel() {
        return sequenceParallel;
    }

    /**
     * Parameters not stored as Hugging Face stores them: GPT-2's rank-major {@code c_attn}.
     *
     * @param degree the tensor-parallel degree
     * @return parameter to checkpoint layout
     */
    public Map<Parameter, HfLayout> hfLayouts(int degree) {
        if (attention.fusedQkv() == null) {
            return Map.of();
        }
        return Map.of(attention.fusedQkv().weight(), HfLayout.fusedQkv(1, degree),
                attention.fusedQkv().bias(), HfLayout.fusedQkv(0, degree));
    }

    /**
     * Records the layer.
     *
     * @param tape the step's tape
     * @param prefix node-name prefix, e.g. {@code transformer.h.3}
     * @param x {@code [B, T, C]}, replicated; {@code [B, T/p, C]} (this rank's positions) when sequence-parallel
     * @param attentionMask {@code [B, T]} 0/1 over the whole sequence, or null
     * @return {@code [B, T, C]}, replicated; {@code [B, T/p, C]} when sequence-parallel
     */
    public Var forward(Tape tape, String prefix, Var x, Var attentionMask) {
        Parameter attnBias = attention.output().bias();
        Parameter mlpBias = mlp.proj().bias();
        if (preLayerNorm) {
            Var normed = region(tape, prefix + names.ln1(), params(ln1, null),
                    (ctx, v, in) -> new NDList(ln1.apply(v, in.get(0))), x).get(0);
            Var a = attention.forwardWithoutOutputBias(tape, prefix + names.attention(), normed, attentionMask, checkpoint);
            List<Var> rn = region(tape, prefix + names.attentionResidual(), params(ln2, attnBias), (ctx, v, in) -> {
                NDArray r = residual.apply(ctx, v, in.get(0), attnBias, in.get(1), 0);
                return new NDList(r, ln2.apply(v, r));
            }, a, x);
            Var m = mlp.forwardWithoutOutputBias(tape, prefix + names.mlp(), rn.get(1), checkpoint);
            return region(tape, prefix + names.mlpResidual(), params(null, mlpBias),
                    (ctx, v, in) -> new NDList(residual.apply(ctx, v, in.get(0), mlpBias, in.get(1), 0)), m, rn.get(0)).get(0);
        }
        Var a = attention.forwardWithoutOutputBias(tape, prefix + names.attention(), x, attentionMask, checkpoint);
        Var h = region(tape, prefix + names.attentionResidual(), params(ln1, attnBias),
                (ctx, v, in) -> new NDList(ln1.apply(v, residual.apply(ctx, v, in.get(0), attnBias, in.get(1), 0))), a, x).get(0);
        Var m = mlp.forwardWithoutOutputBias(tape, prefix + names.mlp(), h, checkpoint);
        return region(tape, prefix + names.mlpResidual(), params(ln2, mlpBias),
                (ctx, v, in) -> new NDList(ln2.apply(v, residual.apply(ctx, v, in.get(0), mlpBias, in.get(1), 0))), m, h).get(0);
    }

    /**
     * Records a node outside the blocks' parallel products (LayerNorm, bias, dropout, residual): an
     * ordinary autograd node on the replicated stream, or on sequence shards a
     * {@link SequenceParallelFunction} that sums {@code params}' gradients over the group.
     */
    private List<Var> region(Tape tape, String name, List<Parameter> params, SequenceParallelFunction.Body body, Var... in) {
        if (sequenceParallel) {
            return SequenceParallelFunction.apply(tape, group, name, params, body, in);
        }
        return tape.apply(name, (ctx, l) -> body.forward(ctx, ctx::param, l), in);
    }

    /** The replicated parameters of a region node: a LayerNorm's weight and bias and a bias, each if present. */
    private static List<Parameter> params(LayerNorm ln, Parameter bias) {
        List<Parameter> out = new ArrayList<>(3);
        if (ln != null) {
            out.add(ln.weight());
            out.add(ln.bias());
        }
        if (bias != null) {
            out.add(bias);
        }
        return out;
    }
}
