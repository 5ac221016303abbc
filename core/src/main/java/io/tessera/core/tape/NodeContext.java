package io.tessera.core.tape;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.tessera.core.nn.Parameter;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * What an {@link Op} sees while it runs: a scratch manager freed after the node's backward, parameter
 * leaves, the node's seed and whether the model is training.
 *
 * <p>Thread safety: not thread-safe; valid only during one run of the node.
 */
public class NodeContext {

    private final NDManager manager;
    private final long seed;
    private final boolean training;
    private final ParameterAccess access;
    private final boolean leaves;
    private final Map<Parameter, NDArray> params = new IdentityHashMap<>();
    private final List<Parameter> order = new ArrayList<>();

    NodeContext(NDManager manager, long seed, boolean training, ParameterAccess access, boolean leaves) {
        this.manager = manager;
        this.seed = seed;
        this.training = training;
        this.access = access;
        this.leaves = leaves;
    }

    /** @return a manager for temporaries; freed once the node's backward has run */
    public NDManager manager() {
        return manager;
    }

    /** @return a seed unique to this node within the step (from its name and occurrence; same on a checkpointed rerun) */
    public long seed() {
        return seed;
    }

    /** @return whether dropout and other training-only behaviour apply */
    public boolean training() {
        return training;
    }

    /**
     * The value of a parameter for this node. In an {@link Op} it is a leaf whose gradient the tape
     * collects; in a {@link TapeFunction} it is the stored value.
     *
     * @param p the parameter
     * @return its value
     */
    public NDArray param(Parameter p) {
        NDArray v = params.get(p);
        if (v == null) {
            NDArray stored = access.acquire(p, manager);
            if (leaves) {
                v = stored.stopGradient();
                v.attach(manager);
                v.setRequiresGradient(true);
            } else {
                v = stored;
            }
            params.put(p, v);
            if (!order.contains(p)) {
                order.add(p);
            }
        }
        return v;
    }

    List<Parameter> usedParameters() {
        return order;
    }

    ParameterAccess access() {
        return access;
    }

    /** Moves the parameter leaves' gradients to the parameter access and releases the parameters. */
    void collectParameterGradients() {
        for (Map.Entry<Parameter, NDArray> e : params.entrySet()) {
            PtNDArray g = JniUtils.getGradient((PtNDArray) e.getValue());
            if (g != null) {
                access.accumulateGradient(e.getKey(), g);
                g.close();
            }
        }
    }

    /**
     * Releases the parameters this context holds; a later {@link #param} acquires them again (ZeRO stage
     * 3 gathers a parameter for a function node's forward and again for its backward).
     */
    void releaseParameters() {
        for (Parameter p : params.keySet()) {
            access.release(p);
        }
        params.clear();
    }
}
