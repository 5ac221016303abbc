package io.tessera.models;

import io.tessera.core.nn.Parameter;
import java.util.Objects;

/**
 * One tensor of a Hugging Face checkpoint: its name, the parameter that holds it and how the two
 * layouts relate.
 *
 * <p>Thread safety: immutable record; the parameter belongs to one rank.
 *
 * @param name the checkpoint name, e.g. {@code transformer.h.0.attn.c_attn.weight}
 * @param parameter the parameter (this rank's slice)
 * @param layout how the gathered parameter maps to the checkpoint tensor
 */
public record HfTensor(String name, Parameter parameter, HfLayout layout) {

    /** Checks that no component is null. */
    public HfTensor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(parameter, "parameter");
        Objects.requireNonNull(layout, "layout");
    }
}
