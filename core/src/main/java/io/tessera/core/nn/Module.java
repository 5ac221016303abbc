package io.tessera.core.nn;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A node of the model tree: named parameters and named child modules, as in PyTorch's {@code nn.Module}.
 * Full names join the path with dots, e.g. {@code encoder.layer.0.attention.self.query.weight}, so that
 * they match Hugging Face checkpoints. A parameter registered in two places (tied weights) keeps the
 * name of its first registration in traversal order.
 *
 * <p>Modules only declare; storage is bound by {@link ParameterBuffer#allocate}. How a module computes is
 * up to the subclass (typically by recording nodes on a {@link io.tessera.core.tape.Tape}).
 *
 * <p>Thread safety: not thread-safe; build a module tree on one thread.
 */
public abstract class Module {

    private final Map<String, Parameter> parameters = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();

    /**
     * Registers a parameter under a local name.
     *
     * @param name local name, no dots
     * @param parameter the parameter
     * @return the parameter
     */
    protected final Parameter register(String name, Parameter parameter) {
        checkName(name);
        parameters.put(name, parameter);
        return parameter;
    }

    /**
     * Registers a child module under a local name.
     *
     * @param name local name, no dots
     * @param child the child
     * @param <M> its type
     * @return the child
     */
    protected final <M extends Module> M register(String name, M child) {
        checkName(name);
        children.put(name, child);
        return child;
    }

    /** @return this module's own parameters by local name */
    public final Map<String, Parameter> localParameters() {
        return Collections.unmodifiableMap(parameters);
    }

    /** @return child modules by local name */
    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /**
     * Every distinct parameter of the tree, depth-first in registration order, by full name.
     *
     * @return an ordered map; tied parameters appear once
     */
    public final Map<String, Parameter> namedParameters() {
        Map<String, Parameter> out = new LinkedHashMap<>();
        collect("", out, Collections.newSetFromMap(new IdentityHashMap<>()));
        return out;
    }

    private void collect(String prefix, Map<String, Parameter> out, Set<Parameter> seen) {
        for (Map.Entry<String, Parameter> e : parameters.entrySet()) {
            if (seen.add(e.getValue())) {
                out.put(prefix + e.getKey(), e.getValue());
            }
        }
        for (Map.Entry<String, Module> e : children.entrySet()) {
            e.getValue().collect(prefix + e.getKey() + ".", out, seen);
        }
    }

    private void checkName(String name) {
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException("module member name '" + name + "': must be non-empty and contain no dots");
        }
        if (parameters.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException("module member name '" + name + "' is already registered in " + getClass().getSimpleName());
        }
    }
}
