package io.tessera.parallel.tensor;

import io.tessera.core.nn.Module;

/** A test root that registers layers under given names so that a buffer can allocate them. */
final class ModuleHolder extends Module {

    ModuleHolder add(String name, Module child) {
        register(name, child);
        return this;
    }
}
