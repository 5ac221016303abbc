package io.tessera.core.tape;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Adds up node times by kind: the node name with layer numbers replaced by {@code *} ({@code
 * encoder.layer.3.attention} counts as {@code encoder.layer.*.attention}), so that a profile of a
 * deep model stays short.
 *
 * <pre>{@code
 * NodeProfile profile = new NodeProfile();
 * tape.addTimer(profile);             // on each step's tape
 * System.out.print(profile.table(10));
 * }</pre>
 *
 * <p>Thread safety: not thread-safe; one profile per rank.
 */
public final class NodeProfile implements NodeTimer {

    private final Map<String, long[]> byKind = new LinkedHashMap<>();

    @Override
    public void timed(String nodeName, boolean backward, long nanos) {
        long[] t = byKind.computeIfAbsent(kind(nodeName), k -> new long[3]);
        t[backward ? 1 : 0] += nanos;
        if (!backward) {
            t[2]++;
        }
    }

    /**
     * @param nodeName a node name
     * @return its kind: every dot-separated number replaced by {@code *}
     */
    public static String kind(String nodeName) {
        return nodeName.replaceAll("(^|\\.)\\d+(?=\\.|$)", "$1*");
    }

    /** @return total nanoseconds of forward and backward over all kinds */
    public long totalNanos() {
        long sum = 0;
        for (long[] t : byKind.values()) {
            sum += t[0] + t[1];
        }
        return sum;
    }

    /** Forgets everything timed so far (e.g. after warm-up). */
    public void reset() {
        byKind.clear();
    }

    /**
     * @param rows at most this many kinds, the most expensive first
     * @return a text table: kind, calls, forward and backward seconds, share of the total
     */
    public String table(int rows) {
        List<Map.Entry<String, long[]>> entries = new ArrayList<>(byKind.entrySet());
        entries.sort((a, b) -> Long.compare(b.getValue()[0] + b.getValue()[1], a.getValue()[0] + a.getValue()[1]));
        double total = Math.max(1, totalNanos());
        int width = 4;
        for (Map.Entry<String, long[]> e : entries) {
            width = Math.max(width, e.getKey().length());
        }
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-" + width + "s  %6s  %9s  %9s  %6s%n",
                "node", "calls", "fwd s", "bwd s", "share"));
        for (Map.Entry<String, long[]> e : entries.subList(0, Math.min(rows, entries.size()))) {
            long[] t = e.getValue();
            sb.append(String.format(Locale.ROOT, "%-" + width + "s  %6d  %9.3f  %9.3f  %5.1f%%%n", e.getKey(), t[2],
                    t[0] / 1e9, t[1] / 1e9, 100 * (t[0] + t[1]) / total));
        }
        sb.append(String.format(Locale.ROOT, "%-" + width + "s  %6s  %9s  %9s  %9.3f s%n", "total", "", "", "", total / 1e9));
        return sb.toString();
    }
}
