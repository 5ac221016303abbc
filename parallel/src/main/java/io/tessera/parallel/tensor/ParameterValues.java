package io.tessera.parallel.tensor;

import ai.djl.ndarray.NDArray;
import io.tessera.core.nn.Parameter;

/**
 * Where a layer's computation reads its parameters: {@link io.tessera.core.tape.NodeContext#param}
 * inside an ordinary autograd node ({@code ctx::param}), or the leaves that a
 * {@link SequenceParallelFunction} builds so that it can reduce their gradients.
 *
 * <p>Thread safety: as the node that supplies it; valid during one run of the node.
 */
@FunctionalInterface
public interface ParameterValues {

    /**
     * @param p a parameter the computation uses
     * @return its value for this run
     */
    NDArray get(Parameter p);
}
