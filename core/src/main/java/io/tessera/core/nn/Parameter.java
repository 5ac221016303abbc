package io.tessera.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.Objects;

/**
 * A trainable tensor: its full and local shapes, how it is split, how it is initialised and whether
 * weight decay applies. Its value and gradient are views into the flat buffers of a
 * {@link ParameterBuffer}, bound when the buffer is allocated.
 *
 * <p>Thread safety: not thread-safe; a parameter belongs to one rank.
 */
public final class Parameter {

    private final Shape fullShape;
    private final Shape shape;
    private final Partition partition;
    private final Initializer initializer;
    private final boolean weightDecay;
    private String name;
    private NDArray data;
    private NDArray grad;

    private Parameter(Shape fullShape, Partition partition, Initializer initializer, boolean weightDecay) {
        this.fullShape = Objects.requireNonNull(fullShape, "fullShape");
        this.partition = Objects.requireNonNull(partition, "partition");
        this.initializer = Objects.requireNonNull(initializer, "initializer");
        this.shape = partition.local(fullShape);
        this.weightDecay = weightDecay;
    }

    /**
     * A replicated parameter with weight decay.
     *
     * @param shape its shape
     * @param init its initialiser
     * @return the parameter
     */
    public static Parameter of(Shape shape, Initializer init) {
        return new Parameter(shape, Partition.REPLICATED, init, true);
    }

    /**
     * @param fullShape the shape of the whole tensor across ranks
     * @param partition how it is split
     * @param init initialiser of the whole tensor
     * @param weightDecay whether decoupled weight decay and LAMB adaptation apply
     * @return the parameter
     */
    public static Parameter of(Shape fullShape, Partition partition, Initializer init, boolean weightDecay) {
        return new Parameter(fullShape, partition, init, weightDecay);
    }

    /** @return the dotted Hugging Face-style name, set when the module tree is allocated */
    public String name() {
        return name == null ? "<unallocated>" : name;
    }

    /** @return the shape this rank holds */
    public Shape shape() {
        return shape;
    }

    /** @return the shape of the whole tensor across the tensor-parallel group */
    public Shape fullShape() {
        return fullShape;
    }

    /** @return how the tensor is split */
    public Partition partition() {
        return partition;
    }

    /** @return the initialiser of the whole tensor */
    public Initializer initializer() {
        return initializer;
    }

    /** @return whether weight decay (and LAMB's trust ratio) applies; false for biases and LayerNorm */
    public boolean weightDecay() {
        return weightDecay;
    }

    /** @return number of local elements */
    public long numel() {
        return shape.size();
    }

    /** @return the value, a view into the flat parameter buffer */
    public NDArray data() {
        if (data == null) {
            throw new IllegalStateException("parameter " + name() + " " + shape + (name == null
                    ? " has no storage; allocate the model with ParameterBuffer.allocate first"
                    : " has no full storage here (partitioned by ZeRO stage 3); nodes reach it through the tape's ParameterAccess"));
        }
        return data;
    }

    /** @return the gradient, a view into the flat gradient buffer */
    public NDArray grad() {
        if (grad == null) {
            throw new IllegalStateException("parameter " + name() + " has no full gradient storage (allocated without"
                    + " gradients, as ZeRO stages 2 and 3 do); gradients go through the tape's ParameterAccess");
        }
        return grad;
    }

    /** @return whether storage is bound */
    public boolean allocated() {
        return data != null;
    }

    void bind(String fullName, NDArray dataView, NDArray gradView) {
        if (name != null && !name.equals(fullName) && dataView != null) {
            throw new IllegalStateException("parameter " + name + " is already bound; a module tree can be allocated once");
        }
        this.name = fullName;
        this.data = dataView;
        this.grad = gradView;
    }

    void name(String fullName) {
        if (name == null) {
            name = fullName;
        }
    }

    @Override
    public String toString() {
        return name() + shape + (partition.replicated() ? "" : " split dim " + partition.dim() + " " + partition.rank() + "/" + partition.degree());
    }
}
