package io.tessera.optim.plan.estimate;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * Seconds per element of each {@link OpClass} on one device (one rank with its threads), as
 * {@code bin/tessera bench ops} measures them: the price list of {@link NonGemmWork}'s counts. A class
 * that is absent costs nothing; {@link #NONE} (every class absent) is what the named GPUs carry, so that
 * their published-figure comparisons keep the GEMM-and-links model.
 *
 * <p>Thread safety: immutable.
 *
 * @param secondsPerElement seconds per element by class, each finite and at least 0
 * @param source where the figures came from, for the printout (e.g. the JSON file)
 */
public record OpCosts(Map<OpClass, Double> secondsPerElement, String source) {

    /** No figures: the non-GEMM term is 0. */
    public static final OpCosts NONE = new OpCosts(Map.of(), "none");

    /** @throws IllegalArgumentException naming a class whose figure is negative or not finite */
    public OpCosts {
        EnumMap<OpClass, Double> copy = new EnumMap<>(OpClass.class);
        for (Map.Entry<OpClass, Double> e : secondsPerElement.entrySet()) {
            double v = e.getValue() == null ? Double.NaN : e.getValue();
            if (!(v >= 0) || Double.isInfinite(v)) {
                throw new IllegalArgumentException("op cost of " + e.getKey().key() + " = " + v
                        + " s per element must be finite and at least 0; rerun bin/tessera bench ops --json FILE");
            }
            copy.put(e.getKey(), v);
        }
        secondsPerElement = Collections.unmodifiableMap(copy);
        source = source == null || source.isBlank() ? "unnamed" : source;
    }

    /** @return whether no class has a figure (the non-GEMM term is then 0) */
    public boolean isNone() {
        return secondsPerElement.isEmpty();
    }

    /**
     * @param c the class
     * @return its seconds per element, 0 when absent
     */
    public double seconds(OpClass c) {
        return secondsPerElement.getOrDefault(c, 0.0);
    }
}
