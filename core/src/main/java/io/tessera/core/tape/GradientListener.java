package io.tessera.core.tape;

import io.tessera.core.nn.Parameter;
import java.util.List;

/**
 * Told, during {@link Tape#backward}, when parameter gradients become final: right after the backward
 * of the last node (in backward order) that uses them. Data-parallel buckets start their all-reduce
 * and ZeRO-2 its reduce-scatter here, while backward goes on.
 *
 * <p>Thread safety: called on the tape's thread; implementations hand long work to other threads.
 */
@FunctionalInterface
public interface GradientListener {

    /**
     * @param nodeName the node whose backward just ran
     * @param nodeIndex its index in forward order
     * @param finalParameters parameters whose gradient will not change again in this backward
     */
    void gradientsFinal(String nodeName, int nodeIndex, List<Parameter> finalParameters);
}
