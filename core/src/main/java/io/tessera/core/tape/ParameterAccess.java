package io.tessera.core.tape;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.Parameter;

/**
 * How a tape node reaches parameter values and where their gradients go. The default reads
 * {@link Parameter#data()} and adds into {@link Parameter#grad()}; ZeRO stage 3 gathers a partitioned
 * parameter in {@link #acquire} and frees it in {@link #release}, and ZeRO stage 2 may route gradients
 * elsewhere.
 *
 * <p>Thread safety: called on the tape's thread.
 */
public interface ParameterAccess {

    /** Reads parameter storage directly. */
    ParameterAccess DIRECT = new ParameterAccess() {
        @Override
        public NDArray acquire(Parameter p, NDManager scratch) {
            return p.data();
        }

        @Override
        public void accumulateGradient(Parameter p, NDArray grad) {
            p.grad().addi(grad);
        }

        @Override
        public NDArray gradientTarget(Parameter p) {
            return p.grad();
        }

        @Override
        public void release(Parameter p) {}
    };

    /**
     * @param p the parameter a node needs
     * @param scratch a manager that lives until the node's forward (or backward) ends
     * @return its full local value
     */
    NDArray acquire(Parameter p, NDManager scratch);

    /**
     * @param p the parameter
     * @param grad a gradient contribution to add
     */
    void accumulateGradient(Parameter p, NDArray grad);

    /**
     * Where a node may add a gradient contribution in place (a product written with {@code beta = 1},
     * say), instead of allocating it and calling {@link #accumulateGradient}.
     *
     * @param p the parameter
     * @return a contiguous tensor of {@code p}'s local shape to add into, or null (the default) when
     *     contributions must go through {@link #accumulateGradient}
     */
    default NDArray gradientTarget(Parameter p) {
        return null;
    }

    /**
     * Called once the node's forward or backward no longer needs the value.
     *
     * @param p the parameter
     */
    void release(Parameter p);
}
