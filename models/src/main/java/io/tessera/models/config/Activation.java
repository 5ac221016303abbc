package io.tessera.models.config;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Activation of the MLP's first linear layer, named as Hugging Face names it in
 * {@code config.json} ({@code hidden_act} for BERT, {@code activation_function} for GPT-2).
 *
 * <p>Thread safety: immutable enum, safe to share.
 */
public enum Activation {
    /**
     * Exact GELU, {@code gelu(x) = x·Φ(x) = 0.5·x·(1 + erf(x/√2))}: BERT's activation, Hugging Face
     * {@code "gelu"}.
     */
    GELU("gelu"),
    /**
     * Tanh approximation of GELU, {@code 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))}: GPT-2's
     * activation, Hugging Face {@code "gelu_new"}.
     */
    GELU_NEW("gelu_new");

    private final String hfName;

    Activation(String hfName) {
        this.hfName = hfName;
    }

    /**
     * The Hugging Face name of this activation.
     *
     * @return {@code "gelu"} or {@code "gelu_new"}
     */
    public String hfName() {
        return hfName;
    }

    /**
     * Looks an activation up by its Hugging Face name.
     *
     * @param name the name as written in {@code config.json}, for example {@code "gelu_new"}
     * @return the activation
     * @throws IllegalArgumentException if Tessera does not implement {@code name}; the message lists
     *     the names it does implement
     */
    public static Activation fromHfName(String name) {
        for (Activation a : values()) {
            if (a.hfName.equals(name)) {
                return a;
            }
        }
        throw new IllegalArgumentException("activation \"" + name + "\" is not supported: Tessera implements "
                + supportedNames() + "; use one of those (GPT-2 uses \"gelu_new\", BERT \"gelu\")");
    }

    /**
     * The Hugging Face names Tessera implements, for messages.
     *
     * @return for example {@code ["gelu", "gelu_new"]}
     */
    static String supportedNames() {
        return Arrays.stream(values()).map(a -> "\"" + a.hfName + "\"").collect(Collectors.joining(", ", "[", "]"));
    }
}
