package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.tessera.core.gemm.Gemm;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.Partition;
import io.tessera.core.tape.NodeContext;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.comm.Communicator;

/**
 * The token embedding split over the vocabulary: {@code y = E[id] = Σ_r [id ∈ rows_r] · E_r[id − start_r]}.
 *
 * <p>Split: the {@code [V', C]} table (V' the padded vocabulary) is cut into {@code p} blocks of
 * {@code V'/p} rows; rank {@code r} holds rows {@code [r·V'/p, (r+1)·V'/p)}. Each rank looks up the
 * ids it holds and writes zeros for the others; the sum over ranks is the full lookup. Rows from the
 * real vocabulary size V up to V' are padding: initialised to zero, never looked up, masked out of the
 * logits by {@link VocabParallelCrossEntropy}, and stripped on export.
 *
 * <p>Collectives: forward all-reduces the masked lookups ({@link ReduceFromTensorParallelRegion g});
 * backward none. The tied output layer ({@link #parallelLogits}) runs {@link CopyToTensorParallelRegion
 * f} on the hidden states (backward: all-reduce of their gradient) and leaves the logits split.
 *
 * <p>Initialisation: the first V rows are {@code init} drawn for a {@code [V, C]} tensor, so the model is
 * the same whatever the padding.
 *
 * <p>Thread safety: not thread-safe; belongs to one rank.
 */
public final class VocabParallelEmbedding extends Module {

    private final Communicator group;
    private final int vocabSize;
    private final int paddedVocabSize;
    private final int dim;
    private final Parameter weight;

    /**
     * @param parallel this rank's parallel context
     * @param vocabSize V, the real vocabulary
     * @param paddedVocabSize V' ≥ V, divisible by the tensor-parallel degree
     * @param dim C, the embedding width
     * @param init initialiser of the real {@code [V, C]} rows
     */
    public VocabParallelEmbedding(ParallelContext parallel, int vocabSize, int paddedVocabSize, int dim, Initializer init) {
        this.group = parallel.tensor();
        int p = group.size();
        if (vocabSize < 1 || dim < 1 || paddedVocabSize < vocabSize) {
            throw new IllegalArgumentException("VocabParallelEmbedding(vocabSize = " + vocabSize + ", paddedVocabSize = "
                    + paddedVocabSize + ", dim = " + dim + "): need vocabSize >= 1, dim >= 1 and paddedVocabSize >= vocabSize");
        }
        if (paddedVocabSize % p != 0) {
            throw new IllegalArgumentException("VocabParallelEmbedding: paddedVocabSize = " + paddedVocabSize
                    + " is not divisible by the tensor-parallel degree " + p + "; pad the vocabulary to a multiple of "
                    + p + " (TransformerConfig.paddedVocabSize(" + p + "))");
        }
        this.vocabSize = vocabSize;
        this.paddedVocabSize = paddedVocabSize;
        this.dim = dim;
        this.weight = register("weight", Parameter.of(new Shape(paddedVocabSize, dim), Partition.split(0, group.rank(), p),
                padRows(init, vocabSize), true));
    }

    /**
     * An initialiser that draws the first {@code realRows} rows with {@code init} and fills the rest
     * with zeros, so that padding never changes the real rows.
     *
     * @param init initialiser of the real rows
     * @param realRows number of real rows
     * @return the padded initialiser
     */
    public static Initializer padRows(Initializer init, int realRows) {
        return (m, full, seed) -> {
            long rows = full.get(0);
            if (rows == realRows) {
                return init.full(m, full, seed);
            }
            long[] realShape = full.getShape().clone();
            realShape[0] = realRows;
            long[] padShape = full.getShape().clone();
            padShape[0] = rows - realRows;
            return init.full(m, new Shape(realShape), seed).concat(m.zeros(new Shape(padShape), DataType.FLOAT32), 0);
        };
    }

    /** @return the {@code [V', C]} table (this rank's rows) */
    public Parameter weight() {
        return weight;
    }

    /** @return C, the embedding width */
    public int dim() {
        return dim;
    }

    /** @return V, the real vocabulary */
    public int vocabSize() {
        return vocabSize;
    }

    /** @return V', the padded vocabulary */
    public int paddedVocabSize() {
        return paddedVocabSize;
    }

    /** @return V'/p, the rows this rank holds */
    public int localVocabSize() {
        return paddedVocabSize / group.size();
    }

    /** @return the first vocabulary id this rank holds */
    public long vocabStart() {
        return (long) group.rank() * localVocabSize();
    }

    /**
     * A bias over the vocabulary split like the table (BERT's {@code cls.predictions.bias}), for the
     * caller to register: {@code [V']} zeros, split on dim 0, no weight decay.
     *
     * @return a new parameter
     */
    public Parameter newVocabBias() {
        return Parameter.of(new Shape(paddedVocabSize), Partition.split(0, group.rank(), group.size()),
                Initializer.zeros(), false);
    }

    /**
     * This rank's masked lookup inside an op; the caller reduces it with {@link ReduceFromTensorParallelRegion}.
     *
     * @param ctx the node's context
     * @param ids token ids in {@code [0, V)}, shape {@code S}
     * @return {@code [S..., C]}: the rows this rank holds, zeros elsewhere
     */
    public NDArray applyLocal(NodeContext ctx, NDArray ids) {
        NDArray idx = ids.getDataType() == DataType.INT64 ? ids : ids.toType(DataType.INT64, false);
        NDArray table = ctx.param(weight);
        if (group.size() == 1) {
            return JniUtils.embedding((PtNDArray) idx, (PtNDArray) table, false);
        }
        long start = vocabStart();
        NDArray mine = idx.gte(start).logicalAnd(idx.lt(start + localVocabSize()));
        NDArray local = idx.sub(start).mul(mine.toType(DataType.INT64, false));
        NDArray rows = JniUtils.embedding((PtNDArray) local, (PtNDArray) table, false);
        return rows.mul(mine.toType(rows.getDataType(), false).expandDims(-1));
    }

    /**
     * Records the masked lookup and {@code g}.
     *
     * @param tape the step's tape
     * @param name node name
     * @param ids token ids in {@code [0, V)}, shape {@code [B, T]}
     * @return {@code [B, T, C]}, replicated
     */
    public Var forward(Tape tape, String name, Var ids) {
        Var local = tape.apply1(name, false, (ctx, l) -> new NDList(applyLocal(ctx, l.singletonOrThrow())), ids);
        return ReduceFromTensorParallelRegion.apply(tape, group, name + ".reduce", local);
    }

    /**
     * The tied output layer's product inside an op: {@code h·E_rᵀ (+ b_r)}.
     *
     * @param ctx the node's context
     * @param hidden {@code [..., C]}, after {@link CopyToTensorParallelRegion}
     * @param bias a parameter from {@link #newVocabBias()}, or null
     * @return this rank's logits {@code [..., V'/p]}
     */
    public NDArray logits(NodeContext ctx, NDArray hidden, Parameter bias) {
        NDArray y = hidden.matMul(ctx.param(weight).transpose());
        return bias == null ? y : y.add(ctx.param(bias));
    }

    /**
     * Records {@code f} and the tied output layer; the logits stay split over the vocabulary, ready for
     * {@link VocabParallelCrossEntropy}.
     *
     * @param tape the step's tape
     * @param name node name
     * @param hidden {@code [..., C]}, replicated
     * @param bias a parameter from {@link #newVocabBias()}, or null
     * @return this rank's logits {@code [..., V'/p]}
     */
    public Var parallelLogits(Tape tape, String name, Var hidden, Parameter bias) {
        Var in = CopyToTensorParallelRegion.apply(tape, group, name + ".copy", hidden);
        Gemm gemm = LinearFunction.strategyFor(tape, in);
        if (gemm != null) {
            return tape.call1(name, new LinearFunction(weight, WeightLayout.OUT_IN, bias, gemm), in);
        }
        return tape.apply1(name, false, (ctx, l) -> new NDList(logits(ctx, l.singletonOrThrow(), bias)), in);
    }
}
