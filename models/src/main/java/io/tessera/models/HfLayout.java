package io.tessera.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import io.tessera.parallel.tensor.FusedQkv;

/**
 * How a parameter's full (gathered) tensor in Tessera's layout maps to the tensor of a Hugging Face
 * checkpoint, and back. Most parameters are stored exactly as Hugging Face stores them; two are not:
 * <ul>
 *   <li>{@link #paddedRows}: the token embedding and BERT's vocabulary bias hold V' ≥ V rows (the
 *       vocabulary padded for tensor parallelism); export keeps the first V, import appends zeros.
 *   <li>{@link #fusedQkv}: GPT-2's {@code c_attn} is stored rank-major for the degree it was built
 *       with ({@link FusedQkv}); export and import permute to and from Hugging Face's {@code [q|k|v]}.
 * </ul>
 *
 * <p>Thread safety: implementations are immutable.
 */
public interface HfLayout {

    /** Stored exactly as Hugging Face stores it. */
    HfLayout IDENTITY = new HfLayout() {
        @Override
        public NDArray toHf(NDArray full) {
            return full;
        }

        @Override
        public NDArray fromHf(NDArray hf, Shape fullShape) {
            return hf;
        }

        @Override
        public Shape hfShape(Shape fullShape) {
            return fullShape;
        }
    };

    /**
     * @param full the full tensor in Tessera's layout
     * @return the tensor as the checkpoint holds it
     */
    NDArray toHf(NDArray full);

    /**
     * @param hf the tensor as the checkpoint holds it, of shape {@link #hfShape}
     * @param fullShape the parameter's full shape in Tessera's layout
     * @return the full tensor in Tessera's layout
     */
    NDArray fromHf(NDArray hf, Shape fullShape);

    /**
     * @param fullShape the parameter's full shape in Tessera's layout
     * @return the shape the checkpoint holds
     */
    Shape hfShape(Shape fullShape);

    /**
     * @param realRows V, the rows a checkpoint holds
     * @return the layout of a tensor padded along dim 0 to V' rows with zeros
     */
    static HfLayout paddedRows(int realRows) {
        return new HfLayout() {
            @Override
            public NDArray toHf(NDArray full) {
                return full.get(new NDIndex("0:" + realRows));
            }

            @Override
            public NDArray fromHf(NDArray hf, Shape fullShape) {
                long pad = fullShape.get(0) - realRows;
                if (pad == 0) {
                    return hf;
                }
                long[] padShape = fullShape.getShape().clone();
                padShape[0] = pad;
                return hf.concat(hf.getManager().zeros(new Shape(padShape), hf.getDataType()), 0);
            }

            @Override
            public Shape hfShape(Shape fullShape) {
                long[] s = fullShape.getShape().clone();
                s[0] = realRows;
                return new Shape(s);
            }
        };
    }

    /**
     * @param dim the fused dimension (1 for the {@code [C, 3C]} weight, 0 for the bias)
     * @param degree the tensor-parallel degree the model was built with
     * @return the layout of a rank-major fused q/k/v tensor
     */
    static HfLayout fusedQkv(int dim, int degree) {
        return new HfLayout() {
            @Override
            public NDArray toHf(NDArray full) {
                return FusedQkv.toHuggingFace(full, dim, degree);
            }

            @Override
            public NDArray fromHf(NDArray hf, Shape fullShape) {
                return FusedQkv.toRankMajor(hf, dim, degree);
            }

            @Override
            public Shape hfShape(Shape fullShape) {
                return fullShape;
            }
        };
    }
}
