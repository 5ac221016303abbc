package io.tessera.models;

import io.tessera.core.nn.Module;
import io.tessera.core.nn.Parameter;

/**
 * A module that only groups children under a name, so that a model's parameter names follow its
 * checkpoint format's paths ({@code bert.encoder.layer.0.attention.self.query.weight}) whatever class
 * computes with them.
 *
 * <p>Thread safety: not thread-safe; build a module tree on one thread.
 */
public final class ModuleGroup extends Module {

    /**
     * @param name local name, no dots
     * @param child the child
     * @param <M> its type
     * @return the child
     */
    public <M extends Module> M add(String name, M child) {
        return register(name, child);
    }

    /**
     * @param name local name, no dots
     * @param parameter the parameter
     * @return the parameter
     */
    public Parameter add(String name, Parameter parameter) {
        return register(name, parameter);
    }
}
