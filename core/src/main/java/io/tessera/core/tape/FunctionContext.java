package io.tessera.core.tape;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.Parameter;

/**
 * What a {@link TapeFunction} sees: a scratch manager, tensors saved in forward for backward,
 * parameter values and a way to add parameter gradients.
 *
 * <p>Thread safety: not thread-safe; valid from the node's forward until its backward ends.
 */
public final class FunctionContext extends NodeContext {

    private NDList saved = new NDList();

    FunctionContext(NDManager manager, long seed, boolean training, ParameterAccess access) {
        super(manager, seed, training, access, false);
    }

    /**
     * Keeps tensors for backward.
     *
     * @param arrays tensors to keep
     */
    public void save(NDArray... arrays) {
        saved = new NDList(arrays);
    }

    /** @return what forward saved */
    public NDList saved() {
        return saved;
    }

    /**
     * Adds to a parameter's gradient (call from backward).
     *
     * @param p the parameter
     * @param grad the contribution
     */
    public void accumulateGradient(Parameter p, NDArray grad) {
        access().accumulateGradient(p, grad);
    }

    /**
     * Where backward may add a contribution to {@code p}'s gradient in place, if the parameter access
     * allows it (see {@link ParameterAccess#gradientTarget}).
     *
     * @param p the parameter
     * @return a contiguous tensor to add into, or null: then use {@link #accumulateGradient}
     */
    public NDArray gradientTarget(Parameter p) {
        return access().gradientTarget(p);
    }
}
