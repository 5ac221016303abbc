package io.tessera.parallel.pipeline;

import java.util.Locale;

/**
 * The pipeline schedules Tessera runs.
 *
 * <p>Thread safety: immutable enum.
 */
public enum ScheduleKind {
    /** GPipe (Huang et al., 2019): every forward, then every backward; holds m micro-batches of activations. */
    GPIPE("gpipe"),
    /** PipeDream-Flush 1F1B (Narayanan et al., 2021), non-interleaved: at most p micro-batches in flight. */
    ONE_F_ONE_B("1f1b"),
    /** Interleaved 1F1B with v model chunks per rank (Narayanan et al., 2021): bubble divided by v. */
    INTERLEAVED("interleaved");

    private final String flag;

    ScheduleKind(String flag) {
        this.flag = flag;
    }

    /** @return the command-line name */
    public String flag() {
        return flag;
    }

    /**
     * @param text {@code gpipe}, {@code 1f1b} or {@code interleaved}
     * @return the kind
     * @throws IllegalArgumentException naming the accepted values
     */
    public static ScheduleKind parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        for (ScheduleKind k : values()) {
            if (k.flag.equals(t)) {
                return k;
            }
        }
        throw new IllegalArgumentException("--schedule " + text + ": expected gpipe, 1f1b or interleaved");
    }
}
