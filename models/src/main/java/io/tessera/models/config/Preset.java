package io.tessera.models.config;

import java.util.Objects;
import java.util.OptionalLong;

/**
 * A named model configuration with the parameter count its authors published and where.
 *
 * <p>The published figure is a rounded headline number; {@link ParameterCount} gives the exact count
 * and {@code models/PARAMETER_COUNTS.md} explains the differences.
 *
 * <p>Thread safety: immutable, safe to share between threads.
 *
 * @param name the lookup name, lower case (for example {@code "megatron-bert-3.9b"})
 * @param config the configuration
 * @param publishedParameters the published parameter count, empty for test configurations
 * @param source where the shape and the published count come from
 */
public record Preset(String name, TransformerConfig config, OptionalLong publishedParameters, String source) {

    /**
     * Checks that no component is null.
     *
     * @param name the lookup name
     * @param config the configuration
     * @param publishedParameters the published parameter count, empty for test configurations
     * @param source where the shape and the published count come from
     * @throws NullPointerException naming the null component
     */
    public Preset {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(publishedParameters, "publishedParameters");
        Objects.requireNonNull(source, "source");
    }
}
