package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.tessera.core.nn.Initializer;
import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.Partition;
import io.tessera.core.tape.NodeContext;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;

/**
 * Layer normalisation over the last dimension, replicated on every tensor-parallel rank:
 * {@code y = (x − mean(x)) / sqrt(var(x) + eps) · weight + bias}, biased variance, as
 * {@code torch.nn.LayerNorm}.
 *
 * <p>Split: none; {@code weight} (ones) and {@code bias} (zeros), both {@code [C]}, are replicated and
 * excluded from weight decay. Collectives: none. Its input is replicated, so its gradients are the same
 * on every rank without communication. Under sequence parallelism its input is this rank's positions
 * only: it is then applied inside a {@link SequenceParallelFunction}, which sums the weight's and bias's
 * gradients over the tensor-parallel group.
 *
 * <p>Precision: fp16 inputs need no cast here. libtorch's LayerNorm kernels (CPU and CUDA) compute the
 * mean, the variance and the normalisation of fp16 inputs in fp32 ({@code opmath}) and round only the
 * result to fp16, as Megatron's fused LayerNorm does: over 4,096 features the fp16 output was measured
 * within 4.4e-4 (half an fp16 ulp at 1.5) of fp32 arithmetic on the same input.
 *
 * <p>Thread safety: not thread-safe; belongs to one rank.
 */
public final class LayerNorm extends Module {

    private final Parameter weight;
    private final Parameter bias;
    private final int size;
    private final double eps;

    /**
     * @param size C, the normalised (last) dimension
     * @param eps added to the variance (BERT 1e-12, GPT-2 1e-5)
     */
    public LayerNorm(int size, double eps) {
        if (size < 1 || !(eps > 0)) {
            throw new IllegalArgumentException("LayerNorm(size = " + size + ", eps = " + eps + "): need size >= 1 and eps > 0");
        }
        this.size = size;
        this.eps = eps;
        this.weight = register("weight", Parameter.of(new Shape(size), Partition.REPLICATED,
                Initializer.ones(), false));
        this.bias = register("bias", Parameter.of(new Shape(size), Partition.REPLICATED,
                Initializer.zeros(), false));
    }

    /** @return the gain {@code [C]} */
    public Parameter weight() {
        return weight;
    }

    /** @return the shift {@code [C]} */
    public Parameter bias() {
        return bias;
    }

    /** @return the epsilon */
    public double eps() {
        return eps;
    }

    /**
     * Normalises inside an op.
     *
     * @param ctx the node's context
     * @param x {@code [..., C]}
     * @return {@code [..., C]}
     */
    public NDArray apply(NodeContext ctx, NDArray x) {
        return apply(ctx::param, x);
    }

    /**
     * Normalises with parameter values from {@code params} (a {@link SequenceParallelFunction}'s body).
     *
     * @param params where the weight and bias are read
     * @param x {@code [..., C]}
     * @return {@code [..., C]}
     */
    public NDArray apply(ParameterValues params, NDArray x) {
        return JniUtils.layerNorm((PtNDArray) x, new Shape(size), (PtNDArray) params.get(weight),
                (PtNDArray) params.get(bias), eps);
    }

    /**
     * Records one node.
     *
     * @param tape the step's tape
     * @param name node name
     * @param x {@code [..., C]}
     * @return {@code [..., C]}
     */
    public Var forward(Tape tape, String name, Var x) {
        return tape.apply1(name, false, (ctx, in) -> new NDList(apply(ctx, in.singletonOrThrow())), x);
    }
}
