package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.tessera.core.tape.FunctionContext;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.TapeFunction;
import io.tessera.core.tape.Var;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.ReduceOp;
import java.util.Objects;

/**
 * Cross-entropy over logits split along the vocabulary, without ever gathering them:
 * <pre>
 *   loss = (1/N) Σ_{i: t_i ≠ −100} [ log Σ_v exp(z_iv − m_i) − (z_{i,t_i} − m_i) ],   m_i = max_v z_iv
 * </pre>
 * with {@code N} the number of targets that are not {@value #IGNORE_INDEX}, as
 * {@code torch.nn.CrossEntropyLoss(ignore_index=-100)} with mean reduction. Padded vocabulary entries
 * (ids {@code ≥ V}) are set to {@code −∞} before anything else, so they take no probability and the
 * loss equals that of the unpadded model.
 *
 * <p>Split: rank {@code r} holds logits {@code z[:, r·V'/p : (r+1)·V'/p]}. Collectives, forward: the
 * row maximum (all-reduce MAX), the target logit (each rank picks it where it holds the target, zero
 * elsewhere; all-reduce SUM) and the sum of exponentials (all-reduce SUM), each {@code [N]} floats.
 * Backward: none; {@code dz = (softmax(z) − onehot(t)) · dLoss / N} on the local columns. A group of one
 * takes a shorter path with the same result: libtorch's fused log-softmax in forward, its exponential in backward.
 *
 * <p>Rows without a target are dropped first (every rank holds the same targets, so all drop the same rows):
 * the passes over the vocabulary and the collectives cover only the {@code N} scored rows, and backward
 * writes the kept rows' gradient into zeros. With BERT's 15% masking over every position that is 85% less
 * softmax work than {@code torch.nn.functional.cross_entropy}, which takes the softmax of every row.
 *
 * <p>Precision: the arithmetic is fp32 whatever the logits' type; the loss is fp32 for fp16 logits
 * (an fp16 loss would keep only about three significant digits, and a loss scale such as 2^16 is
 * beyond the fp16 range) and of the logits' type otherwise; the logits' gradient has their type.
 *
 * <p>With no target to score ({@code N = 0}) the loss and its gradient are zero (PyTorch would return
 * NaN). Targets must be {@value #IGNORE_INDEX} or in {@code [0, V)}; others fail with a message naming
 * the value.
 *
 * <p>Thread safety: not thread-safe; one instance serves one tape node (it remembers the logits'
 * shape between forward and backward), as {@link #apply} arranges.
 */
public final class VocabParallelCrossEntropy implements TapeFunction {

    /** Targets with this value are not scored (PyTorch's default {@code ignore_index}). */
    public static final int IGNORE_INDEX = -100;

    private final Communicator group;
    private final int vocabSize;
    private Shape logitsShape;
    private DataType logitsType;
    /** Whether no row has a target (then the loss and its gradient are zero). */
    private boolean noneScored;
    /** The indices of the rows that have a target, when some have none (else null); saved last for backward. */
    private NDArray keptRows;

    /**
     * @param group the tensor-parallel group the logits are split over
     * @param vocabSize V, the real (unpadded) vocabulary
     */
    public VocabParallelCrossEntropy(Communicator group, int vocabSize) {
        this.group = Objects.requireNonNull(group, "group");
        if (vocabSize < 1) {
            throw new IllegalArgumentException("vocabSize = " + vocabSize + " must be >= 1");
        }
        this.vocabSize = vocabSize;
    }

    /**
     * Records the loss on the tape.
     *
     * @param tape the step's tape
     * @param group the tensor-parallel group the logits are split over
     * @param name node name
     * @param logits this rank's logits {@code [..., V'/p]}
     * @param targets {@code [...]} integer targets in {@code [0, V)} or {@value #IGNORE_INDEX}
     * @param vocabSize V, the real vocabulary; columns from V to V' are padding
     * @return the mean loss, a scalar, the same on every rank
     */
    public static Var apply(Tape tape, Communicator group, String name, Var logits, Var targets, int vocabSize) {
        return tape.call1(name, new VocabParallelCrossEntropy(group, vocabSize), logits, targets);
    }

    @Override
    public NDList forward(FunctionContext ctx, NDList inputs) {
        NDManager m = ctx.manager();
        NDArray logits = inputs.get(0);
        NDArray targets = inputs.get(1);
        Shape shape = logits.getShape();
        logitsShape = shape;
        logitsType = logits.getDataType();
        long local = shape.get(shape.dimension() - 1);
        long n = shape.size() / local;
        if (targets.getShape().size() != n) {
            throw new IllegalArgumentException("vocab-parallel cross-entropy: targets " + targets.getShape()
                    + " do not match logits " + shape + " (expected " + n + " targets, one per row)");
        }
        long start = group.rank() * local;
        long real = Math.max(0, Math.min(local, vocabSize - start));
        NDArray t = targets.reshape(n).toType(DataType.INT64, false);
        NDArray scoredMask = t.neq(IGNORE_INDEX);
        checkTargets(t, scoredMask);

        // Only rows with a target enter the loss or get a gradient: the rest are dropped before any pass over
        // the vocabulary (with BERT's 15% masking, 85% of the rows). Every rank holds the same targets, so
        // every rank keeps the same rows, and from here on every row is scored: the mean is over all N.
        NDArray rowLogits = logits.reshape(n, local);
        boolean fresh = false;                            // whether z is a copy that may be overwritten
        long scoredRows = scoredMask.sum().getLong();
        if (scoredRows == 0) {
            noneScored = true;
            return new NDList(asLossType(m.zeros(new Shape(), DataType.FLOAT32)));
        }
        if (scoredRows < n) {
            keptRows = scoredMask.nonzero().reshape(scoredRows);                                 // [K]
            NDIndex kept = new NDIndex("{}", keptRows);
            rowLogits = rowLogits.get(kept);                                                    // [K, V'/p], a copy
            t = t.get(kept);
            n = scoredRows;
            fresh = true;
        }

        // [N, V'/p] in fp32; padded columns take no probability.
        NDArray z = rowLogits.toType(DataType.FLOAT32, false);
        fresh |= logitsType != DataType.FLOAT32;
        if (real < local) {
            Shape row = new Shape(local);
            NDArray padding = m.arange(0, (int) local, 1, DataType.INT64).gte(real);
            NDArray padded = z.add(NDArrays.where(padding, m.full(row, Float.NEGATIVE_INFINITY), m.zeros(row)));
            if (fresh) {
                z.close();
            }
            z = padded;
            fresh = true;
        }
        if (wholeVocabulary()) {
            return new NDList(asLossType(wholeVocabularyLoss(ctx, z, fresh, t, n, local)));
        }
        NDArray max = RegionTensors.allReduce(group, m, z.max(new int[] {1}), ReduceOp.MAX);      // [N]
        // At most two [N, V'/p] tensors at a time: the shifted logits, then their exp, divided in place into
        // the softmax (kept for backward, as Megatron does). The logits themselves are the tape's and stay intact.
        NDArray shifted = fresh ? z.subi(max.expandDims(1)) : z.sub(max.expandDims(1));

        NDArray mine = t.gte(start).logicalAnd(t.lt(start + local));                            // [N]
        NDArray localTarget = t.sub(start).mul(mine.toType(DataType.INT64, false));             // [N]
        NDArray picked = shifted.gather(localTarget.reshape(n, 1), 1).reshape(n);
        picked = NDArrays.where(mine, picked, m.zeros(new Shape(n), DataType.FLOAT32));
        NDArray target = RegionTensors.allReduce(group, m, picked, ReduceOp.SUM);                // [N]

        NDArray softmax = shifted.exp();                                                        // exp, then divided in place
        shifted.close();
        NDArray sumExp = RegionTensors.allReduce(group, m, softmax.sum(new int[] {1}), ReduceOp.SUM); // [N]

        NDArray loss = sumExp.log().sub(target).sum().div(count(m, n));                         // []

        softmax.divi(sumExp.expandDims(1));
        // Where backward subtracts the one-hot target: flat positions i·(V'/p) + target_i.
        NDArray flatTarget = m.arange(0, (int) n, 1, DataType.INT64).muli(local).addi(localTarget);
        save(ctx, softmax, flatTarget, mine.toType(DataType.FLOAT32, false), rowWeights(m, n));
        return new NDList(asLossType(loss));
    }

    /**
     * Saves what backward needs: the rows' softmax or log-probabilities, the flat target positions, where this
     * rank holds the target, the row weights, and last the kept rows' indices when rows were dropped.
     */
    private void save(FunctionContext ctx, NDArray rows, NDArray flatTarget, NDArray mine, NDArray weights) {
        if (keptRows == null) {
            ctx.save(rows, flatTarget, mine, weights);
        } else {
            ctx.save(rows, flatTarget, mine, weights, keptRows);
        }
    }

    /** @return N as a scalar tensor, the mean's divisor */
    private static NDArray count(NDManager m, long n) {
        return m.full(new Shape(), (float) n);
    }

    /** @return {@code [N]} of {@code 1/N}: each scored row's share of the mean */
    private static NDArray rowWeights(NDManager m, long n) {
        return m.full(new Shape(n), 1f / n);
    }

    /** @return whether this rank holds the whole vocabulary (a group of one), which saves log-probabilities */
    private boolean wholeVocabulary() {
        return group.size() == 1;
    }

    /** @return the loss in fp32 for fp16 logits, else in the logits' type (see the class comment) */
    private NDArray asLossType(NDArray loss) {
        return loss.toType(logitsType == DataType.FLOAT16 ? DataType.FLOAT32 : logitsType, false);
    }

    /**
     * The loss when this rank holds the whole vocabulary: libtorch's row-wise log-softmax takes the row maximum,
     * the sum of exponentials and the shift in one pass over each row while it is in cache, where the split
     * form above makes a pass over all {@code [N, V']} logits for each; {@code loss_i = −log p_{i,t_i}} is exact
     * (no underflow), and backward exponentiates the saved log-probabilities.
     */
    private NDArray wholeVocabularyLoss(FunctionContext ctx, NDArray z, boolean fresh, NDArray t, long n, long local) {
        NDManager m = ctx.manager();
        NDArray logProbs = z.logSoftmax(1);                                                    // [N, V']
        if (fresh) {
            z.close();
        }
        NDArray picked = logProbs.gather(t.reshape(n, 1), 1).reshape(n);
        NDArray loss = m.zeros(new Shape(), DataType.FLOAT32).sub(picked.sum().div(count(m, n))); // []
        NDArray flatTarget = m.arange(0, (int) n, 1, DataType.INT64).muli(local).addi(t);
        save(ctx, logProbs, flatTarget, m.ones(new Shape(n)), rowWeights(m, n));  // this rank holds every target
        return loss;
    }

    @Override
    public NDList backward(FunctionContext ctx, NDList outputCotangents) {
        if (noneScored) {
            return new NDList(ctx.manager().zeros(logitsShape, logitsType), null);
        }
        NDList saved = ctx.saved();
        NDArray softmax = wholeVocabulary() ? saved.get(0).exp() : saved.get(0);
        NDArray flatTarget = saved.get(1);
        NDArray mine = saved.get(2);
        NDArray weight = saved.get(3);
        NDArray cot = outputCotangents.singletonOrThrow().toType(DataType.FLOAT32, false);
        // d loss / d z = w_i·(softmax − onehot(target_i)), in place in the saved softmax (not needed again):
        // scale every row, then lower each row's target entry by w_i (where this rank holds the target).
        NDArray rowWeight = weight.mul(cot);                                                    // [N]
        NDArray grad = softmax.muli(rowWeight.expandDims(1));
        NDArray flat = grad.reshape(-1);
        NDIndex targets = new NDIndex("{}", flatTarget);
        NDArray atTarget = flat.get(targets).subi(rowWeight.muli(mine));
        JniUtils.indexAdvPut((PtNDArray) flat, targets, (PtNDArray) atTarget);
        if (keptRows != null) {                           // the dropped rows' gradient is zero
            long local = grad.getShape().get(1);
            NDArray full = ctx.manager().zeros(new Shape(logitsShape.size() / local, local), DataType.FLOAT32);
            JniUtils.indexAdvPut((PtNDArray) full, new NDIndex("{}", saved.get(4)), (PtNDArray) grad);
            grad.close();
            grad = full;
        }
        return new NDList(grad.reshape(logitsShape).toType(logitsType, false), null);
    }

    private void checkTargets(NDArray t, NDArray scoredMask) {
        NDArray bad = scoredMask.logicalAnd(t.lt(0).logicalOr(t.gte(vocabSize)));
        if (bad.any().getBoolean()) {
            long value = t.get(bad).get(0).getLong();
            throw new IllegalArgumentException("vocab-parallel cross-entropy: target " + value + " is outside [0, "
                    + vocabSize + ") and is not the ignore index " + IGNORE_INDEX
                    + "; check the labels against the tokenizer's vocabulary size");
        }
    }
}
