package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.Partition;
import io.tessera.core.tape.NodeContext;
import java.util.Objects;

/**
 * A lookup table replicated on every tensor-parallel rank: {@code y[..., :] = weight[ids[...], :]}.
 * Used for position and token-type embeddings, which are small; the token embedding is a
 * {@link VocabParallelEmbedding}.
 *
 * <p>Split: none. Collectives: none.
 *
 * <p>Thread safety: not thread-safe; belongs to one rank.
 */
public final class Embedding extends Module {

    private final Parameter weight;
    private final int rows;

    /**
     * @param rows number of entries
     * @param dim C, the embedding width
     * @param init initialiser of the {@code [rows, dim]} weight
     */
    public Embedding(int rows, int dim, Initializer init) {
        if (rows < 1 || dim < 1) {
            throw new IllegalArgumentException("Embedding(rows = " + rows + ", dim = " + dim + "): sizes must be >= 1");
        }
        this.rows = rows;
        this.weight = register("weight", Parameter.of(new Shape(rows, dim), Partition.REPLICATED,
                Objects.requireNonNull(init, "init"), true));
    }

    /** @return the {@code [rows, dim]} table */
    public Parameter weight() {
        return weight;
    }

    /** @return number of entries */
    public int rows() {
        return rows;
    }

    /**
     * Looks up rows inside an op.
     *
     * @param ctx the node's context
     * @param ids integer indices in {@code [0, rows)}, any shape {@code S}
     * @return {@code [S..., dim]}
     */
    public NDArray apply(NodeContext ctx, NDArray ids) {
        NDArray idx = ids.getDataType() == DataType.INT64 ? ids : ids.toType(DataType.INT64, false);
        return JniUtils.embedding((PtNDArray) idx, (PtNDArray) ctx.param(weight), false);
    }
}
