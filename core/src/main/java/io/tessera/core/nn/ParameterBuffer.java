package io.tessera.core.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Rng;
import io.tessera.core.Tensors;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One flat fp32 buffer for all parameters of a module tree and one for their gradients; every
 * {@link Parameter}'s value and gradient are views into them. Optimisers and collectives work on whole
 * buffers or contiguous ranges of them.
 *
 * <pre>
 *   params  [ p0 ........ | p1 .. | p2 ............ ]   (fp32, numel elements)
 *   grads   [ g0 ........ | g1 .. | g2 ............ ]
 *             ^ offset(p0)  ^ offset(p1)
 * </pre>
 *
 * <p>Initialisation: parameter {@code name} is the slice this rank holds of
 * {@code initializer.full(fullShape, mix(seed, hash(name)))}, so the gathered model is the same at every
 * tensor-parallel degree.
 *
 * <p>Thread safety: not thread-safe; owned by one rank. Closing it frees both buffers.
 */
public final class ParameterBuffer implements AutoCloseable {

    private final NDManager manager;
    private NDArray params;
    private final NDArray grads;
    private final Map<String, Parameter> byName;
    private final Map<Parameter, Long> offsets;
    private final long total;

    private ParameterBuffer(NDManager manager, NDArray params, NDArray grads, Map<String, Parameter> byName,
                            Map<Parameter, Long> offsets, long total) {
        this.total = total;
        this.manager = manager;
        this.params = params;
        this.grads = grads;
        this.byName = byName;
        this.offsets = offsets;
    }

    /**
     * Allocates and initialises the parameters of a module tree.
     *
     * @param root the model
     * @param seed the model seed
     * @param parent the manager whose device holds the buffers; the buffer owns a child of it
     * @return the buffer
     */
    public static ParameterBuffer allocate(Module root, long seed, NDManager parent) {
        return allocate(root, seed, parent, true);
    }

    /**
     * Allocates and initialises the parameters of a module tree, optionally without a full gradient
     * buffer (ZeRO stages 2 and 3 keep only a gradient shard elsewhere).
     *
     * @param root the model
     * @param seed the model seed
     * @param parent the manager whose device holds the buffers
     * @param withGradients whether to allocate the flat gradient buffer
     * @return the buffer
     */
    public static ParameterBuffer allocate(Module root, long seed, NDManager parent, boolean withGradients) {
        Map<String, Parameter> named = root.namedParameters();
        long total = 0;
        Map<Parameter, Long> offsets = new IdentityHashMap<>();
        for (Parameter p : named.values()) {
            offsets.put(p, total);
            total += p.numel();
        }
        NDManager manager = parent.newSubManager();
        NDArray params = manager.zeros(new Shape(total), DataType.FLOAT32);
        NDArray grads = withGradients ? manager.zeros(new Shape(total), DataType.FLOAT32) : null;
        for (Map.Entry<String, Parameter> e : named.entrySet()) {
            Parameter p = e.getValue();
            long off = offsets.get(p);
            NDArray data = view(params, off, p);
            NDArray grad = grads == null ? null : view(grads, off, p);
            p.bind(e.getKey(), data, grad);
            try (NDManager tmp = manager.newSubManager()) {
                NDArray full = p.initializer().full(tmp, p.fullShape(), Rng.mix(seed, Rng.hash(e.getKey())));
                if (!full.getShape().equals(p.fullShape())) {
                    throw new IllegalStateException("initializer of " + e.getKey() + " returned " + full.getShape()
                            + ", expected " + p.fullShape());
                }
                Tensors.copyInto(data, localSlice(full, p.partition()));
            }
        }
        return new ParameterBuffer(manager, params, grads, Collections.unmodifiableMap(new LinkedHashMap<>(named)), offsets, total);
    }

    /** A view of a parameter's elements of a flat buffer, shaped like the parameter (no intermediate kept). */
    private static NDArray view(NDArray flat, long offset, Parameter p) {
        try (NDArray slice = flat.get(new NDIndex().addSliceDim(offset, offset + p.numel()))) {
            return slice.reshape(p.shape());
        }
    }

    /**
     * The slice of a full tensor that a partition holds.
     *
     * @param full the full tensor
     * @param partition the split
     * @return a view of {@code full}
     */
    public static NDArray localSlice(NDArray full, Partition partition) {
        if (partition.replicated()) {
            return full;
        }
        long size = full.getShape().get(partition.dim()) / partition.degree();
        long from = size * partition.rank();
        StringBuilder idx = new StringBuilder();
        for (int d = 0; d < partition.dim(); d++) {
            idx.append(":,");
        }
        idx.append(from).append(':').append(from + size);
        return full.get(new NDIndex(idx.toString()));
    }

    /** @return the flat parameter buffer (fp32, 1-D) */
    public NDArray params() {
        if (params == null) {
            throw new IllegalStateException("the full parameter buffer was released (ZeRO stage 3 keeps only a shard);"
                    + " reach parameters through the tape's ParameterAccess");
        }
        return params;
    }

    /** @return the flat gradient buffer (fp32, 1-D) */
    public NDArray grads() {
        if (grads == null) {
            throw new IllegalStateException("this buffer was allocated without gradients (ZeRO stage 2/3 keeps a"
                    + " gradient shard instead)");
        }
        return grads;
    }

    /** @return whether a full gradient buffer exists */
    public boolean hasGradients() {
        return grads != null;
    }

    /** @return whether the full parameter buffer is held */
    public boolean hasParameters() {
        return params != null;
    }

    /** @return total number of elements */
    public long numel() {
        return total;
    }

    /**
     * Frees the full parameter buffer after its owner (ZeRO stage 3) has copied out its shard;
     * {@link Parameter#data()} then fails with a message pointing to the tape's parameter access.
     */
    public void releaseParameters() {
        if (params != null) {
            for (Map.Entry<String, Parameter> e : byName.entrySet()) {
                e.getValue().data().close();
                e.getValue().bind(e.getKey(), null, grads == null ? null : e.getValue().grad());
            }
            params.close();
            params = null;
        }
    }

    /**
     * Allocates the full parameter buffer again after {@link #releaseParameters()} (zero-filled) and binds
     * the parameters to it, so that the caller can gather the shards into it (checkpoint export).
     */
    public void restoreParameters() {
        if (params == null) {
            params = manager.zeros(new Shape(total), DataType.FLOAT32);
            for (Map.Entry<String, Parameter> e : byName.entrySet()) {
                Parameter p = e.getValue();
                p.bind(e.getKey(), view(params, offsets.get(p), p), grads == null ? null : p.grad());
            }
        }
    }

    /** @return bytes of the flat buffers actually held (parameters and gradients) */
    public long bytesHeld() {
        return (params == null ? 0 : params.size() * 4) + (grads == null ? 0 : grads.size() * 4);
    }

    /** @return parameters by full name, in buffer order */
    public Map<String, Parameter> parameters() {
        return byName;
    }

    /** @return parameters in buffer order */
    public List<Parameter> list() {
        return new ArrayList<>(byName.values());
    }

    /**
     * @param p a parameter of this buffer
     * @return its first element's index in the flat buffers
     */
    public long offset(Parameter p) {
        Long off = offsets.get(p);
        if (off == null) {
            throw new IllegalArgumentException("parameter " + p.name() + " is not in this buffer");
        }
        return off;
    }

    /** Sets every gradient to zero. */
    public void zeroGrad() {
        Tensors.fill(grads(), 0f);
    }

    @Override
    public void close() {
        manager.close();
    }
}
