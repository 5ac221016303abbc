package io.tessera.core.tape;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.tessera.core.Torch;
import io.tessera.core.nn.Parameter;
import java.util.ArrayList;
import java.util.List;

/** One recorded call on the tape: an autograd {@link Op} or a hand-written {@link TapeFunction}. */
final class Node {

    private final Tape tape;
    private final String name;
    private final int index;
    private final Op op;
    private final TapeFunction function;
    private final boolean checkpoint;
    private final List<Var> inputs;
    private final long seed;
    private List<Var> outputs = List.of();
    private NDManager scratch;
    private NodeContext context;
    private NDList leaves;
    private NDList rawOutputs;
    private List<Parameter> parameters = List.of();
    private boolean parametersReleased;

    Node(Tape tape, String name, int index, Op op, TapeFunction function, boolean checkpoint, List<Var> inputs, long seed) {
        this.tape = tape;
        this.name = name;
        this.index = index;
        this.op = op;
        this.function = function;
        this.checkpoint = checkpoint;
        this.inputs = inputs;
        this.seed = seed;
    }

    String name() {
        return name;
    }

    int index() {
        return index;
    }

    List<Parameter> parameters() {
        return parameters;
    }

    List<Var> inputs() {
        return inputs;
    }

    List<Var> forward() {
        NDList out = function != null ? forwardFunction() : forwardOp(!checkpoint && tape.gradEnabled());
        List<Var> vars = new ArrayList<>(out.size());
        boolean anyGrad = tape.gradEnabled() && (inputs.stream().anyMatch(Var::requiresGrad) || !parameters.isEmpty());
        for (int i = 0; i < out.size(); i++) {
            NDArray o = out.get(i);
            boolean grad = anyGrad && o.getDataType().isFloating();
            NDArray value = o.stopGradient();
            value.attach(tape.manager());
            vars.add(new Var(value, this, i, grad));
        }
        outputs = vars;
        if (checkpoint || !tape.gradEnabled()) {
            finish();
        }
        return vars;
    }

    private NDList forwardOp(boolean recordGraph) {
        scratch = tape.manager().newSubManager();
        parametersReleased = false;
        context = new NodeContext(scratch, seed, tape.training(), tape.parameterAccess(), recordGraph);
        leaves = new NDList(inputs.size());
        for (Var v : inputs) {
            NDArray leaf = v.value().stopGradient();
            leaf.attach(scratch);
            if (recordGraph && v.requiresGrad()) {
                leaf.setRequiresGradient(true);
            }
            leaves.add(leaf);
        }
        try (Torch.GradMode g = Torch.gradMode(recordGraph)) {
            rawOutputs = op.forward(context, leaves);
        }
        parameters = context.usedParameters();
        return rawOutputs;
    }

    private NDList forwardFunction() {
        scratch = tape.manager().newSubManager();
        parametersReleased = false;
        FunctionContext ctx = new FunctionContext(scratch, seed, tape.training(), tape.parameterAccess());
        context = ctx;
        NDList in = new NDList(inputs.size());
        for (Var v : inputs) {
            NDArray alias = v.value().stopGradient();
            alias.attach(scratch);
            in.add(alias);
        }
        try (Torch.GradMode g = Torch.gradMode(false)) {
            rawOutputs = function.forward(ctx, in);
        }
        parameters = ctx.usedParameters();
        if (tape.checkpointingAll() && tape.gradEnabled()) {
            ctx.releaseParameters();   // acquired again by backward's ctx.param (ZeRO-3 gathers twice)
        }
        return rawOutputs;
    }

    boolean hasCotangent() {
        for (Var v : outputs) {
            if (v.cotangent() != null) {
                return true;
            }
        }
        return false;
    }

    /** Runs this node's backward and hands input cotangents to the producers' vars. */
    void backward() {
        if (function != null) {
            backwardFunction();
        } else {
            backwardOp();
        }
    }

    private void backwardOp() {
        if (checkpoint) {
            forwardOp(true);
        }
        try (Torch.GradMode g = Torch.gradMode(true)) {
            NDArray target = null;
            NDArray cot = null;
            int contributing = 0;
            for (Var v : outputs) {
                if (contributes(v)) {
                    contributing++;
                }
            }
            if (contributing == 1) {
                for (Var v : outputs) {
                    if (contributes(v)) {
                        target = rawOutputs.get(v.index());
                        cot = v.cotangent();
                    }
                }
            } else if (contributing > 1) {
                for (Var v : outputs) {
                    if (contributes(v)) {
                        NDArray term = rawOutputs.get(v.index()).mul(v.cotangent()).sum();
                        target = target == null ? term : target.add(term);
                    }
                }
                cot = scratch.ones(target.getShape(), target.getDataType());
            }
            if (target != null) {
                JniUtils.backward((PtNDArray) target, (PtNDArray) cot, false, false);
            }
        }
        for (int i = 0; i < inputs.size(); i++) {
            Var in = inputs.get(i);
            if (!in.requiresGrad()) {
                continue;
            }
            PtNDArray g = JniUtils.getGradient((PtNDArray) leaves.get(i));
            if (g != null) {
                g.attach(tape.manager());
                in.accumulate(g);
            }
        }
        context.collectParameterGradients();
        context.releaseParameters();
        parametersReleased = true;
    }

    /** Whether an output received a cotangent and is connected to the node's leaves in libtorch's graph. */
    private boolean contributes(Var v) {
        if (v.cotangent() == null || !v.requiresGrad()) {
            return false;
        }
        PtNDArray raw = (PtNDArray) rawOutputs.get(v.index());
        return JniUtils.requiresGrad(raw) || !JniUtils.getGradientFunctionNames(raw).isEmpty();
    }

    private void backwardFunction() {
        FunctionContext ctx = (FunctionContext) context;
        NDList cots = new NDList(outputs.size());
        for (Var v : outputs) {
            NDArray c = v.cotangent();
            cots.add(c != null ? c : scratch.zeros(v.value().getShape(), v.value().getDataType()));
        }
        NDList inCots;
        try (Torch.GradMode g = Torch.gradMode(false)) {
            inCots = function.backward(ctx, cots);
        }
        if (inCots.size() != inputs.size()) {
            throw new IllegalStateException("backward of node '" + name + "' returned " + inCots.size()
                    + " cotangents for " + inputs.size() + " inputs");
        }
        for (int i = 0; i < inputs.size(); i++) {
            NDArray c = inCots.get(i);
            Var in = inputs.get(i);
            if (c != null && in.requiresGrad()) {
                if (!c.getShape().equals(in.value().getShape())) {
                    throw new IllegalStateException("backward of node '" + name + "' returned a cotangent of shape "
                            + c.getShape() + " for input " + i + " of shape " + in.value().getShape());
                }
                in.accumulate(keep(c));
            }
        }
        context.releaseParameters();
        parametersReleased = true;
    }

    /** Moves a cotangent out of the scratch scope so that it outlives this node. */
    private NDArray keep(NDArray c) {
        if (c.getManager() == tape.manager()) {
            return c;
        }
        if (c.getManager() == scratch) {
            c.attach(tape.manager());
            return c;
        }
        NDArray copy = c.duplicate();
        copy.attach(tape.manager());
        return copy;
    }

    /** Releases parameters still held (nodes that never ran backward) and frees the node's scope. */
    void finish() {
        if (context != null && !parametersReleased) {
            context.releaseParameters();
            parametersReleased = true;
        }
        release();
    }

    /** Frees the node's graph, saved tensors and temporaries. */
    void release() {
        if (scratch != null) {
            scratch.close();
            scratch = null;
            leaves = null;
            rawOutputs = null;
        }
    }
}
