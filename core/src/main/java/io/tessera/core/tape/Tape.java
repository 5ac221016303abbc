package io.tessera.core.tape;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.tessera.core.Rng;
import io.tessera.core.Torch;
import io.tessera.core.gemm.Gemm;
import io.tessera.core.gemm.Gemms;
import io.tessera.core.nn.Parameter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A coarse autograd tape over module-level nodes, and the memory scope of one training step.
 *
 * <pre>
 *   forward:   x ──[node 0: Op]──▶ h ──[node 1: TapeFunction]──▶ y ──[node 2: Op]──▶ loss
 *                  (DJL autograd      (hand-written backward,      (checkpointed: inputs
 *                   inside)            e.g. an all-reduce)          kept, forward rerun)
 *   backward:  nodes in reverse; cotangents of a tensor used by several nodes add up before its
 *              producer runs; after each node, listeners learn which parameter gradients are final;
 *              the node's graph and temporaries are freed at once.
 * </pre>
 *
 * <p>A node's inputs enter as detached leaves and its outputs leave detached, so libtorch never builds
 * one graph over the whole model. Every tensor a step creates lives in the tape's manager and is freed
 * by {@link #close()}, which keeps a long run's native memory flat.
 *
 * <pre>{@code
 * try (Tape tape = new Tape(manager, seed, true)) {
 *     Var x = tape.constant(batch);
 *     Var loss = model.forward(tape, x);
 *     tape.backward(loss);            // parameter gradients land in ParameterBuffer.grads()
 * }
 * }</pre>
 *
 * <p>Thread safety: not thread-safe; one tape belongs to one thread (one rank). Grad mode is set on
 * that thread around each node.
 */
public final class Tape implements AutoCloseable {

    private final NDManager manager;
    private final long seed;
    private final boolean training;
    private final boolean gradEnabled;
    private final List<Node> nodes = new ArrayList<>();
    private final List<GradientListener> listeners = new ArrayList<>();
    private final Map<String, Integer> occurrences = new HashMap<>();
    private final List<NodeTimer> timers = new ArrayList<>();
    private ParameterAccess parameterAccess = ParameterAccess.DIRECT;
    private boolean checkpointAll;
    private Gemm gemm;
    private boolean backwardDone;

    /**
     * A training tape.
     *
     * @param parent the manager whose device runs the step; the tape owns a child scope of it
     * @param seed seed of this step (a node's seed derives from it, the node's name and how many nodes of that name came before, so that adding or splitting other nodes changes no dropout mask)
     * @param training whether dropout applies
     */
    public Tape(NDManager parent, long seed, boolean training) {
        this(parent, seed, training, true);
    }

    /**
     * @param parent the manager whose device runs the step
     * @param seed seed of this step
     * @param training whether dropout applies
     * @param gradEnabled false for evaluation: nodes keep no graph and backward is refused
     */
    public Tape(NDManager parent, long seed, boolean training, boolean gradEnabled) {
        Torch.engine();
        this.manager = parent.newSubManager();
        this.seed = seed;
        this.training = training;
        this.gradEnabled = gradEnabled;
    }

    /**
     * Replaces how nodes reach parameters (ZeRO stage 3 gathers them on demand).
     *
     * @param access the access strategy
     * @return this tape
     */
    public Tape parameterAccess(ParameterAccess access) {
        this.parameterAccess = Objects.requireNonNull(access, "access");
        return this;
    }

    /**
     * Chooses the product strategy that layers recording on this tape use for fp32 CPU products (a
     * run's {@link io.tessera.core.Compute#gemm()}); without it they use the process's, {@link Gemms#current()}.
     *
     * @param strategy the strategy
     * @return this tape
     */
    public Tape gemm(Gemm strategy) {
        this.gemm = Objects.requireNonNull(strategy, "strategy");
        return this;
    }

    /** @return the product strategy of this tape's layers: the one set with {@link #gemm(Gemm)}, else the process's */
    public Gemm gemm() {
        Gemm g = gemm;
        return g != null ? g : Gemms.current();
    }

    /**
     * Checkpoints every {@link Op} node, whatever the call asked: only inputs are kept and forward reruns
     * during backward. {@link TapeFunction} nodes release their parameters after forward and acquire them
     * again in backward. ZeRO stage 3 relies on it to gather parameters again before each node's backward
     * instead of holding them from forward to backward.
     *
     * @param enabled whether to checkpoint every node
     * @return this tape
     */
    public Tape checkpointAll(boolean enabled) {
        this.checkpointAll = enabled;
        return this;
    }

    /** @return whether {@link #checkpointAll} is on */
    public boolean checkpointingAll() {
        return checkpointAll;
    }

    /**
     * @param listener told when parameter gradients are final during backward
     * @return this tape
     */
    public Tape addListener(GradientListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
        return this;
    }

    /**
     * @param timer told how long each node's forward and backward took
     * @return this tape
     */
    public Tape addTimer(NodeTimer timer) {
        timers.add(Objects.requireNonNull(timer, "timer"));
        return this;
    }

    /** @return the step's memory scope */
    public NDManager manager() {
        return manager;
    }

    /** @return whether training-only behaviour (dropout) applies */
    public boolean training() {
        return training;
    }

    /** @return whether nodes record graphs for backward */
    public boolean gradEnabled() {
        return gradEnabled;
    }

    ParameterAccess parameterAccess() {
        return parameterAccess;
    }

    /**
     * A tensor that needs no gradient (token ids, masks, labels). The tape takes an alias; the caller
     * keeps ownership of {@code value}.
     *
     * @param value the tensor
     * @return the recorded tensor
     */
    public Var constant(NDArray value) {
        return leaf(value, false);
    }

    /**
     * A tensor whose gradient {@link Var#grad()} reports after backward.
     *
     * @param value a floating-point tensor
     * @return the recorded tensor
     */
    public Var variable(NDArray value) {
        if (!value.getDataType().isFloating()) {
            throw new IllegalArgumentException("variable: gradients need a floating-point tensor, got " + value.getDataType());
        }
        return leaf(value, true);
    }

    private Var leaf(NDArray value, boolean grad) {
        NDArray alias = value.stopGradient();
        alias.attach(manager);
        return new Var(alias, null, 0, grad);
    }

    /**
     * Records a node differentiated by PyTorch autograd.
     *
     * @param name a name for traces and errors, e.g. {@code encoder.layer.3.attention}
     * @param op the computation
     * @param inputs its inputs
     * @return its outputs
     */
    public List<Var> apply(String name, Op op, Var... inputs) {
        return record(name, op, null, false, inputs);
    }

    /**
     * Records a node that keeps only its inputs and reruns its forward during backward (activation
     * checkpointing). The op must be deterministic given its inputs and {@link NodeContext#seed()}.
     *
     * @param name a name for traces and errors
     * @param op the computation
     * @param inputs its inputs
     * @return its outputs
     */
    public List<Var> applyCheckpointed(String name, Op op, Var... inputs) {
        return record(name, op, null, true, inputs);
    }

    /**
     * Records a node with one output.
     *
     * @param name a name
     * @param checkpoint whether to checkpoint it
     * @param op the computation
     * @param inputs its inputs
     * @return its single output
     */
    public Var apply1(String name, boolean checkpoint, Op op, Var... inputs) {
        List<Var> out = record(name, op, null, checkpoint, inputs);
        if (out.size() != 1) {
            throw new IllegalStateException("node '" + name + "' returned " + out.size() + " outputs, expected 1");
        }
        return out.get(0);
    }

    /**
     * Records a node with a hand-written backward.
     *
     * @param name a name
     * @param function forward and backward
     * @param inputs its inputs
     * @return its outputs
     */
    public List<Var> call(String name, TapeFunction function, Var... inputs) {
        return record(name, null, function, false, inputs);
    }

    /**
     * Records a single-output node with a hand-written backward.
     *
     * @param name a name
     * @param function forward and backward
     * @param inputs its inputs
     * @return its output
     */
    public Var call1(String name, TapeFunction function, Var... inputs) {
        List<Var> out = call(name, function, inputs);
        if (out.size() != 1) {
            throw new IllegalStateException("node '" + name + "' returned " + out.size() + " outputs, expected 1");
        }
        return out.get(0);
    }

    private List<Var> record(String name, Op op, TapeFunction fn, boolean checkpoint, Var... inputs) {
        if (backwardDone) {
            throw new IllegalStateException("node '" + name + "' recorded after backward; start a new Tape for each step");
        }
        for (Var v : inputs) {
            Objects.requireNonNull(v, () -> "node '" + name + "' got a null input");
        }
        int index = nodes.size();
        int occurrence = occurrences.merge(name, 1, Integer::sum) - 1;
        Node node = new Node(this, name, index, op, fn, checkpoint || (checkpointAll && op != null), List.of(inputs),
                Rng.mix(seed, Rng.hash(name), occurrence));
        nodes.add(node);
        if (timers.isEmpty()) {
            return node.forward();
        }
        long t0 = System.nanoTime();
        List<Var> out = node.forward();
        long dt = System.nanoTime() - t0;
        for (NodeTimer t : timers) {
            t.timed(name, false, dt);
        }
        return out;
    }

    /**
     * Backward from a scalar: its cotangent is 1.
     *
     * @param loss a scalar recorded on this tape
     */
    public void backward(Var loss) {
        if (loss.value().getShape().size() != 1) {
            throw new IllegalArgumentException("backward(loss): loss must have one element, got shape " + loss.value().getShape()
                    + "; pass an explicit cotangent with backward(var, cotangent)");
        }
        backward(loss, manager.ones(loss.value().getShape(), loss.value().getDataType()));
    }

    /**
     * Backward from any tensor with a given cotangent (vector–Jacobian product).
     *
     * @param out a tensor recorded on this tape
     * @param cotangent same shape as {@code out}
     */
    public void backward(Var out, NDArray cotangent) {
        if (!gradEnabled) {
            throw new IllegalStateException("backward on a tape created with gradEnabled=false (evaluation)");
        }
        if (backwardDone) {
            throw new IllegalStateException("backward already ran on this tape; start a new Tape for each step");
        }
        if (!out.requiresGrad()) {
            throw new IllegalArgumentException("backward: " + out + " does not depend on any parameter or variable");
        }
        backwardDone = true;
        out.accumulate(cotangent);
        Map<Parameter, Integer> lastUse = new IdentityHashMap<>();
        for (Node n : nodes) {
            for (Parameter p : n.parameters()) {
                lastUse.putIfAbsent(p, n.index());
            }
        }
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node n = nodes.get(i);
            if (n.hasCotangent()) {
                long t0 = timers.isEmpty() ? 0 : System.nanoTime();
                n.backward();
                if (!timers.isEmpty()) {
                    long dt = System.nanoTime() - t0;
                    for (NodeTimer t : timers) {
                        t.timed(n.name(), true, dt);
                    }
                }
            }
            n.finish();
            if (!listeners.isEmpty()) {
                List<Parameter> done = new ArrayList<>();
                for (Parameter p : n.parameters()) {
                    if (lastUse.get(p) == i) {
                        done.add(p);
                    }
                }
                for (GradientListener l : listeners) {
                    l.gradientsFinal(n.name(), i, done);
                }
            }
        }
    }

    /** @return number of recorded nodes */
    public int size() {
        return nodes.size();
    }

    /** @return the recorded node names in forward order, for traces */
    public List<String> nodeNames() {
        List<String> names = new ArrayList<>(nodes.size());
        for (Node n : nodes) {
            names.add(n.name());
        }
        return names;
    }

    /** Frees everything this step allocated. */
    @Override
    public void close() {
        for (Node n : nodes) {
            n.finish();
        }
        manager.close();
    }

    /**
     * Convenience for single-array ops.
     *
     * @param arrays arrays
     * @return an NDList
     */
    public static NDList list(NDArray... arrays) {
        return new NDList(Arrays.asList(arrays));
    }
}
