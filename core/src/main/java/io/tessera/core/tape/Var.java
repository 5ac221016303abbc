package io.tessera.core.tape;

import ai.djl.ndarray.NDArray;

/**
 * A tensor recorded on a {@link Tape}: its detached value, the node that produced it and, during
 * backward, its accumulated cotangent. A small wrapper instead of metadata bolted onto NDArray.
 *
 * <p>Thread safety: not thread-safe; belongs to its tape's thread.
 */
public final class Var {

    private final NDArray value;
    private final Node producer;
    private final int index;
    private final boolean requiresGrad;
    private NDArray cotangent;

    Var(NDArray value, Node producer, int index, boolean requiresGrad) {
        this.value = value;
        this.producer = producer;
        this.index = index;
        this.requiresGrad = requiresGrad;
    }

    /** @return the value (detached; owned by the tape's step scope) */
    public NDArray value() {
        return value;
    }

    /** @return whether gradients flow back through this tensor */
    public boolean requiresGrad() {
        return requiresGrad;
    }

    /**
     * The gradient of the backward target with respect to this tensor, available after
     * {@link Tape#backward} for tensors created by {@link Tape#variable}.
     *
     * @return the gradient, or null if none reached this tensor
     */
    public NDArray grad() {
        return cotangent;
    }

    Node producer() {
        return producer;
    }

    int index() {
        return index;
    }

    NDArray cotangent() {
        return cotangent;
    }

    void accumulate(NDArray g) {
        if (cotangent == null) {
            cotangent = g;
        } else {
            NDArray sum = cotangent.add(g);
            cotangent = sum;
        }
    }

    @Override
    public String toString() {
        return "Var" + value.getShape() + (producer == null ? "" : " from " + producer.name());
    }
}
