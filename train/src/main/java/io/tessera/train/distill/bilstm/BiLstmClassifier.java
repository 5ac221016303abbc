package io.tessera.train.distill.bilstm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import io.tessera.core.Rng;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.Partition;
import io.tessera.core.tape.NodeContext;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.parallel.tensor.Linear;
import io.tessera.parallel.tensor.WeightLayout;
import java.util.Objects;

/**
 * The student of Tang et al. (2019): word embeddings, one bidirectional LSTM layer, a max-pool over
 * time of the two directions' states, and an MLP with one ReLU hidden layer.
 *
 * <pre>
 *   legend: B batch, T words (longest in the batch), V vocabulary, E embedding, H LSTM state, M MLP hidden, K labels
 *   x     = Emb[ids]                                        [B, T, E]
 *   h→    = LSTM_fwd(x)                                      [B, T, H]   over each sentence's words left to right
 *   h←    = rev(LSTM_rev(rev(x)))                            [B, T, H]   rev reverses each sentence's first length(b) words
 *   p     = max_t ([h→ ; h←] + padBias)                      [B, 2H]     padding never wins (padBias −10⁴)
 *   z     = W₂·relu(W₁·p + b₁) + b₂                           [B, K]      the class logits
 *   LSTM cell (PyTorch's gate order i, f, g, o):
 *     [i f g o] = W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh;  c_t = σ(f)·c_{t−1} + σ(i)·tanh(g);  h_t = σ(o)·tanh(c_t)
 * </pre>
 *
 * <p>Padding: a batch is padded at the end, so the forward direction's states at real words never see
 * it; the reverse direction runs on each sentence reversed within its own length, so it too starts at
 * the sentence's last word. The result equals running {@code torch.nn.LSTM(bidirectional=True)} on
 * each sentence alone (a packed sequence). Parameter names follow PyTorch: {@code embedding.weight},
 * {@code lstm.weight_ih_l0}, {@code lstm.weight_hh_l0}, {@code lstm.bias_ih_l0}, {@code lstm.bias_hh_l0}
 * and the same with {@code _reverse}, {@code hidden.{weight,bias}}, {@code classifier.{weight,bias}}.
 * Initialisation as PyTorch's defaults where the layers allow: embeddings N(0, 1), LSTM weights and
 * biases U(−1/√H, 1/√H), linear weights U(−1/√in, 1/√in); linear biases start at zero ({@link Linear}'s).
 *
 * <p>The LSTM is libtorch's own fused {@code lstm} op (through DJL's {@code NDArrayEx.lstm}), run once
 * per direction inside one tape node, differentiated by PyTorch autograd. Measured against the same
 * LSTM written as a cell loop of NDArray ops inside one tape node ({@code LstmTimingTest}: one
 * direction, B = 64, T = 24, E = 16, H = 32, forward and backward, 2 CPU threads, median of 5, two
 * runs): libtorch's op 3.5 / 3.3 ms, the cell loop 25.1 / 23.0 ms, about 7× slower, so the fused op
 * is used.
 *
 * <p>Thread safety: not thread-safe; a model belongs to one thread.
 */
public final class BiLstmClassifier extends Module {

    /** The direction suffixes of the LSTM parameters, PyTorch's. */
    private static final String[] DIRECTIONS = {"", "_reverse"};

    private final BiLstmShape shape;
    private final Parameter embedding;
    private final Parameter[][] lstm = new Parameter[2][]; // [direction][w_ih, w_hh, b_ih, b_hh]
    private final Linear hidden;
    private final Linear classifier;

    /**
     * @param shape the sizes and labels
     */
    public BiLstmClassifier(BiLstmShape shape) {
        this.shape = Objects.requireNonNull(shape, "shape");
        int e = shape.embeddingDim();
        int h = shape.hiddenSize();
        this.embedding = register("embedding", new Group()).add("weight",
                Parameter.of(new Shape(shape.vocabSize(), e), Partition.REPLICATED, Initializer.normal(1f), true));
        Group cell = register("lstm", new Group());
        Initializer u = uniform(1 / Math.sqrt(h));
        for (int d = 0; d < 2; d++) {
            String s = "_l0" + DIRECTIONS[d];
            lstm[d] = new Parameter[] {
                cell.add("weight_ih" + s, Parameter.of(new Shape(4L * h, e), Partition.REPLICATED, u, true)),
                cell.add("weight_hh" + s, Parameter.of(new Shape(4L * h, h), Partition.REPLICATED, u, true)),
                cell.add("bias_ih" + s, Parameter.of(new Shape(4L * h), Partition.REPLICATED, u, false)),
                cell.add("bias_hh" + s, Parameter.of(new Shape(4L * h), Partition.REPLICATED, u, false))};
        }
        this.hidden = register("hidden", new Linear(2 * h, shape.mlpSize(), true, WeightLayout.OUT_IN, uniform(1 / Math.sqrt(2.0 * h))));
        this.classifier = register("classifier", new Linear(shape.mlpSize(), shape.numLabels(), true, WeightLayout.OUT_IN,
                uniform(1 / Math.sqrt(shape.mlpSize()))));
    }

    /** @return the sizes and labels */
    public BiLstmShape shape() {
        return shape;
    }

    /**
     * Records the whole forward pass as one tape node.
     *
     * @param tape the step's tape
     * @param batch the padded word ids
     * @return the logits {@code [B, K]}
     */
    public Var logits(Tape tape, WordBatch batch) {
        NDManager m = tape.manager();
        Var ids = tape.constant(batch.idsArray(m));
        Var reverse = tape.constant(batch.reverseArray(m));
        Var padBias = tape.constant(batch.padBiasArray(m));
        return tape.apply1("bilstm", false, (ctx, in) -> new NDList(forward(ctx, in.get(0), in.get(1), in.get(2))), ids, reverse,
                padBias);
    }

    private NDArray forward(NodeContext ctx, NDArray ids, NDArray reverse, NDArray padBias) {
        long b = ids.getShape().get(0);
        long t = ids.getShape().get(1);
        int e = shape.embeddingDim();
        int h = shape.hiddenSize();
        NDArray x = ids.getNDArrayInternal().embedding(ids, ctx.param(embedding), SparseFormat.DENSE).singletonOrThrow(); // [B, T, E]
        NDArray forwardStates = direction(ctx, x, 0);                                                               // [B, T, H]
        NDArray reversedX = x.gather(reverse.reshape(b, t, 1).broadcast(new Shape(b, t, e)), 1);
        NDArray reverseStates = direction(ctx, reversedX, 1).gather(reverse.reshape(b, t, 1).broadcast(new Shape(b, t, h)), 1);
        NDArray pooled = forwardStates.concat(reverseStates, 2).add(padBias).max(new int[] {1});                    // [B, 2H]
        return classifier.apply(ctx, hidden.apply(ctx, pooled).getNDArrayInternal().relu());                         // [B, K]
    }

    /** One direction of the LSTM over {@code x [B, T, E]}, from zero states: its states {@code [B, T, H]}. */
    private NDArray direction(NodeContext ctx, NDArray x, int d) {
        Shape zero = new Shape(1, x.getShape().get(0), shape.hiddenSize());
        NDList state = new NDList(ctx.manager().zeros(zero), ctx.manager().zeros(zero));
        NDList weights = new NDList(ctx.param(lstm[d][0]), ctx.param(lstm[d][1]), ctx.param(lstm[d][2]), ctx.param(lstm[d][3]));
        return x.getNDArrayInternal().lstm(x, state, weights, true, 1, 0.0, ctx.training(), false, true).get(0);
    }

    private static Initializer uniform(double bound) {
        return (m, s, seed) -> Rng.uniform(m, s, seed).muli(2 * bound).subi(bound);
    }

    /** A plain container of parameters, so that names get PyTorch's {@code module.parameter} form. */
    private static final class Group extends Module {
        Parameter add(String name, Parameter p) {
            return register(name, p);
        }
    }
}
