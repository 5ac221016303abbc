package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.tessera.core.Torch;
import io.tessera.core.nn.Parameter;
import io.tessera.core.tape.FunctionContext;
import io.tessera.core.tape.NodeContext;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.TapeFunction;
import io.tessera.core.tape.Var;
import io.tessera.parallel.comm.Communicator;
import io.tessera.parallel.comm.ReduceOp;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A tape node in the sequence-parallel region whose replicated parameters see only this rank's
 * positions, so that their gradients are summed over the tensor-parallel group:
 * <pre>
 *   forward:   y = body(x; θ)                 x [B, T/p, C], θ replicated (LayerNorm γ, β; a row-parallel bias)
 *   backward:  dx = ∂y/∂x · dy                (local: every position lives on one rank)
 *              dθ += Σ_ranks ∂y_r/∂θ · dy_r   (one all-reduce SUM of the node's θ gradients, per dtype)
 * </pre>
 * Megatron all-reduces the gradients of its {@code sequence_parallel} parameters once after backward;
 * here the sum is taken inside the node's backward, on the node's own contribution, before it reaches
 * {@link FunctionContext#accumulateGradient}. So whatever receives gradients (the flat gradient buffer,
 * ZeRO-2's reduce-scatter, data-parallel buckets started by a {@link io.tessera.core.tape.GradientListener}
 * when the node's backward ends) only ever sees the whole-sequence gradient, the same on every rank;
 * gradient accumulation over micro-batches and parameters shared by several layers (ALBERT) stay right
 * because each contribution is summed on its own. The price is one small all-reduce per node
 * ({@code 2C} or {@code 3C} elements), latency rather than bandwidth.
 *
 * <p>Autograd: forward runs {@code body} without a graph and keeps only its inputs; backward reads the
 * parameters again ({@link FunctionContext#param}, so ZeRO-3 gathers them again), reruns {@code body}
 * with grad mode on over fresh leaves and takes the vector–Jacobian product with libtorch. The body must
 * therefore be deterministic given its inputs and {@link NodeContext#seed()}: dropout drawn from the
 * node's seed ({@link Dropout}) redraws the same mask. The rerun costs only element-wise work
 * (LayerNorm, bias, dropout, residual add), and the node keeps no intermediate activation.
 *
 * <p>The body reads parameters only through its {@link ParameterValues}, and only those declared; a
 * group of one rank records an ordinary autograd node of the same name ({@code ctx::param}), so
 * degree 1 runs the same code with no communication.
 *
 * <p>Thread safety: immutable; runs on the thread of the tape that recorded it.
 */
public final class SequenceParallelFunction implements TapeFunction {

    /** The computation of a {@link SequenceParallelFunction} node. */
    @FunctionalInterface
    public interface Body {

        /**
         * @param ctx the node's context: seed, training flag, scratch manager (not for parameters)
         * @param params the declared parameters' values
         * @param inputs the node's inputs
         * @return its outputs
         */
        NDList forward(NodeContext ctx, ParameterValues params, NDList inputs);
    }

    private final Communicator group;
    private final String name;
    private final List<Parameter> parameters;
    private final Body body;

    /**
     * @param group the tensor-parallel group over which the parameter gradients are summed
     * @param name the node's name, for messages
     * @param parameters every parameter {@code body} reads
     * @param body the computation
     */
    public SequenceParallelFunction(Communicator group, String name, List<Parameter> parameters, Body body) {
        this.group = Objects.requireNonNull(group, "group");
        this.name = Objects.requireNonNull(name, "name");
        this.parameters = List.copyOf(parameters);
        this.body = Objects.requireNonNull(body, "body");
    }

    /**
     * Records the node: a {@link SequenceParallelFunction}, or for a group of one rank an ordinary
     * autograd node with the same body.
     *
     * @param tape the step's tape
     * @param group the tensor-parallel group
     * @param name node name, e.g. {@code transformer.h.0.ln_2}
     * @param parameters every parameter {@code body} reads (replicated ones)
     * @param body the computation
     * @param inputs the node's inputs
     * @return its outputs
     */
    public static List<Var> apply(Tape tape, Communicator group, String name, List<Parameter> parameters, Body body,
                                  Var... inputs) {
        if (group.size() == 1) {
            List<Parameter> declared = List.copyOf(parameters);
            return tape.apply(name, (ctx, in) -> body.forward(ctx, declared(name, declared, ctx::param), in), inputs);
        }
        return tape.call(name, new SequenceParallelFunction(group, name, parameters, body), inputs);
    }

    /**
     * As {@link #apply}, for a body with one output.
     *
     * @param tape the step's tape
     * @param group the tensor-parallel group
     * @param name node name
     * @param parameters every parameter {@code body} reads
     * @param body the computation
     * @param inputs the node's inputs
     * @return its single output
     */
    public static Var apply1(Tape tape, Communicator group, String name, List<Parameter> parameters, Body body,
                             Var... inputs) {
        List<Var> out = apply(tape, group, name, parameters, body, inputs);
        if (out.size() != 1) {
            throw new IllegalStateException("node '" + name + "' returned " + out.size() + " outputs, expected 1");
        }
        return out.get(0);
    }

    @Override
    public NDList forward(FunctionContext ctx, NDList inputs) {
        for (Parameter p : parameters) {
            ctx.param(p);              // declares every parameter used, even one the body skips this time
        }
        NDList out = body.forward(ctx, declared(name, parameters, ctx::param), inputs);
        ctx.save(inputs.toArray(new NDArray[0]));
        return out;
    }

    @Override
    public NDList backward(FunctionContext ctx, NDList outputCotangents) {
        NDManager m = ctx.manager();
        NDList saved = ctx.saved();
        NDList leaves = new NDList(saved.size());
        for (NDArray x : saved) {
            leaves.add(leaf(m, x));
        }
        Map<Parameter, NDArray> paramLeaves = new IdentityHashMap<>();
        for (Parameter p : parameters) {
            paramLeaves.put(p, leaf(m, ctx.param(p)));
        }
        try (Torch.GradMode g = Torch.gradMode(true)) {
            NDList out = body.forward(ctx, declared(name, parameters, paramLeaves::get), leaves);
            NDArray target = null;
            for (int i = 0; i < out.size(); i++) {
                PtNDArray o = (PtNDArray) out.get(i);
                // As the tape's own nodes test it: DJL reports requiresGrad only for leaves.
                if (JniUtils.requiresGrad(o) || !JniUtils.getGradientFunctionNames(o).isEmpty()) {
                    NDArray term = o.mul(outputCotangents.get(i)).sum();     // backward of Σ sum(y_i · dy_i)
                    target = target == null ? term : target.add(term);
                }
            }
            if (target != null) {
                JniUtils.backward((PtNDArray) target, (PtNDArray) m.ones(target.getShape(), target.getDataType()), false, false);
            }
        }
        reduceParameterGradients(ctx, paramLeaves);
        NDList inCots = new NDList(leaves.size());
        for (NDArray leaf : leaves) {
            inCots.add(leaf.getDataType().isFloating() ? JniUtils.getGradient((PtNDArray) leaf) : null);
        }
        return inCots;
    }

    /** Sums this node's parameter gradients over the group, one all-reduce per data type, and adds them. */
    private void reduceParameterGradients(FunctionContext ctx, Map<Parameter, NDArray> paramLeaves) {
        Map<DataType, List<Parameter>> byType = new LinkedHashMap<>();
        for (Parameter p : parameters) {
            byType.computeIfAbsent(paramLeaves.get(p).getDataType(), t -> new ArrayList<>()).add(p);
        }
        for (Map.Entry<DataType, List<Parameter>> e : byType.entrySet()) {
            NDList flat = new NDList();
            for (Parameter p : e.getValue()) {
                NDArray leaf = paramLeaves.get(p);
                NDArray grad = JniUtils.getGradient((PtNDArray) leaf);
                flat.add((grad != null ? grad : ctx.manager().zeros(leaf.getShape(), e.getKey())).flatten());
            }
            NDArray sum = flat.size() == 1 ? RegionTensors.contiguousCopy(ctx.manager(), flat.get(0)) : NDArrays.concat(flat);
            group.allReduce(sum, ReduceOp.SUM);
            long offset = 0;
            for (Parameter p : e.getValue()) {
                NDArray leaf = paramLeaves.get(p);
                long n = leaf.getShape().size();
                ctx.accumulateGradient(p, sum.get(new NDIndex(offset + ":" + (offset + n))).reshape(leaf.getShape()));
                offset += n;
            }
        }
    }

    /** A fresh leaf over {@code x}'s values, requiring a gradient if it is floating-point. */
    private static NDArray leaf(NDManager m, NDArray x) {
        NDArray leaf = x.stopGradient();
        leaf.attach(m);
        if (x.getDataType().isFloating()) {
            leaf.setRequiresGradient(true);
        }
        return leaf;
    }

    /** {@code values} restricted to {@code declared}: reading any other parameter is a bug of the body. */
    private static ParameterValues declared(String node, List<Parameter> declared, ParameterValues values) {
        return p -> {
            for (Parameter d : declared) {
                if (d == p) {
                    return values.get(p);
                }
            }
            throw new IllegalStateException("node '" + node + "' read parameter " + p + " that it did not declare "
                    + "(declared: " + declared + "); pass every parameter the body reads, so that its gradient is "
                    + "summed over the tensor-parallel group");
        };
    }
}
