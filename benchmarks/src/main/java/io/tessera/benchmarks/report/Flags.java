package io.tessera.benchmarks.report;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A small GNU-style command-line reader for the benchmark mains: {@code --name value}, {@code --name=value}
 * and boolean {@code --name} / {@code --no-name}. Every name must be declared; an unknown one is an error
 * that lists the known ones. Typed getters name the option and the bad value in their messages.
 *
 * <p>Thread safety: immutable after {@link #parse}.
 */
public final class Flags {

    private final Map<String, String> values;
    private final Set<String> valued;
    private final Set<String> booleans;

    private Flags(Map<String, String> values, Set<String> valued, Set<String> booleans) {
        this.values = values;
        this.valued = valued;
        this.booleans = booleans;
    }

    /**
     * @param args the arguments
     * @param valued names (without {@code --}) that take a value
     * @param booleans names that are switches ({@code --x} true, {@code --no-x} false)
     * @return the parsed flags
     * @throws IllegalArgumentException for an unknown option, a missing value or a positional argument
     */
    public static Flags parse(String[] args, Set<String> valued, Set<String> booleans) {
        Map<String, String> values = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument '" + a + "'; options start with --");
            }
            String name = a.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (valued.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.length) {
                        throw new IllegalArgumentException("option --" + name + " needs a value");
                    }
                    value = args[++i];
                }
                values.put(name, value);
            } else if (booleans.contains(name) && value == null) {
                values.put(name, "true");
            } else if (name.startsWith("no-") && booleans.contains(name.substring(3)) && value == null) {
                values.put(name.substring(3), "false");
            } else {
                Set<String> known = new TreeSet<>(valued);
                known.addAll(booleans);
                throw new IllegalArgumentException("unknown option --" + name + "; known options: --" + String.join(", --", known));
            }
        }
        return new Flags(values, new HashSet<>(valued), new HashSet<>(booleans));
    }

    /** @return whether {@code --help} was given (declare {@code help} as a boolean) */
    public boolean help() {
        return booleans.contains("help") && flag("help", false);
    }

    /**
     * @param name option name
     * @param fallback value when absent
     * @return the text value
     */
    public String string(String name, String fallback) {
        check(name, valued);
        return values.getOrDefault(name, fallback);
    }

    /**
     * @param name option name
     * @param fallback value when absent
     * @return the integer value
     */
    public int integer(String name, int fallback) {
        String v = string(name, null);
        if (v == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " " + v + ": expected an integer", e);
        }
    }

    /**
     * @param name option name
     * @param fallback value when absent
     * @return the long value
     */
    public long longValue(String name, long fallback) {
        String v = string(name, null);
        if (v == null) {
            return fallback;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " " + v + ": expected an integer", e);
        }
    }

    /**
     * @param name option name
     * @param fallback value when absent
     * @return the number
     */
    public double number(String name, double fallback) {
        String v = string(name, null);
        if (v == null) {
            return fallback;
        }
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " " + v + ": expected a number", e);
        }
    }

    /**
     * @param name option name
     * @param fallback value when absent
     * @return the switch
     */
    public boolean flag(String name, boolean fallback) {
        check(name, booleans);
        String v = values.get(name);
        return v == null ? fallback : Boolean.parseBoolean(v);
    }

    /**
     * @param name option name
     * @param fallback value when absent (may be null)
     * @return the path
     */
    public Path path(String name, Path fallback) {
        String v = string(name, null);
        return v == null ? fallback : Path.of(v);
    }

    /**
     * @param name option name, a whole number of seconds
     * @param fallback value when absent
     * @return the duration
     */
    public Duration seconds(String name, Duration fallback) {
        String v = string(name, null);
        return v == null ? fallback : Duration.ofSeconds(longValue(name, 0));
    }

    /**
     * @param name option name, a comma-separated list of integers
     * @param fallback value when absent
     * @return the integers
     */
    public List<Integer> integers(String name, List<Integer> fallback) {
        String v = string(name, null);
        if (v == null) {
            return fallback;
        }
        List<Integer> out = new ArrayList<>();
        for (String s : v.split(",")) {
            if (!s.isBlank()) {
                try {
                    out.add(Integer.parseInt(s.trim()));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--" + name + " " + v + ": expected comma-separated integers, e.g. 1,2,4", e);
                }
            }
        }
        return out;
    }

    private static void check(String name, Set<String> declared) {
        if (!declared.contains(name)) {
            throw new IllegalStateException("option --" + name + " was read but not declared to Flags.parse");
        }
    }
}
