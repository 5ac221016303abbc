package io.tessera.parallel.launch;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * How the ranks of a job check that each other is alive, apart from the collectives (whose timeout
 * must be generous for big models): every rank bumps a heartbeat counter in the job's store every
 * {@code interval}, and the job fails once some rank's counter has not moved for {@code timeout}.
 * See {@link Heartbeat}.
 *
 * <p>Read from {@code TESSERA_HEARTBEAT_TIMEOUT} (seconds, decimals allowed; {@code 0} turns the check
 * off; default {@value #DEFAULT_TIMEOUT_S}). The interval is a fifth of the timeout, at most
 * {@value #MAX_INTERVAL_S} s, so that a few missed beats never fail a job.
 *
 * <p>Thread safety: immutable.
 *
 * @param interval how often a rank beats and looks at its peers' beats
 * @param timeout how long a rank may stay silent before the job fails; zero: no heartbeats
 */
public record Liveness(Duration interval, Duration timeout) {

    /** The variable that sets the heartbeat timeout, in seconds. */
    public static final String TIMEOUT_VARIABLE = "TESSERA_HEARTBEAT_TIMEOUT";

    /** Default heartbeat timeout, seconds. */
    public static final long DEFAULT_TIMEOUT_S = 15;

    /** Longest interval between beats, seconds. */
    public static final long MAX_INTERVAL_S = 2;

    public Liveness {
        Objects.requireNonNull(interval, "interval");
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("liveness: timeout = " + timeout + " must be zero (off) or positive");
        }
        if (enabled(timeout) && (interval.isNegative() || interval.isZero() || interval.compareTo(timeout) >= 0)) {
            throw new IllegalArgumentException("liveness: interval = " + interval + " must be positive and shorter than the timeout "
                    + timeout);
        }
    }

    /**
     * @param timeout how long a rank may stay silent; zero turns heartbeats off
     * @return liveness with that timeout and an interval of a fifth of it, at most {@value #MAX_INTERVAL_S} s
     */
    public static Liveness ofTimeout(Duration timeout) {
        Duration interval = timeout.dividedBy(5);
        Duration max = Duration.ofSeconds(MAX_INTERVAL_S);
        return new Liveness(interval.compareTo(max) > 0 ? max : interval.isZero() ? Duration.ofMillis(1) : interval, timeout);
    }

    /** @return no heartbeats: only the collectives' timeout finds a stalled rank */
    public static Liveness off() {
        return new Liveness(Duration.ofSeconds(MAX_INTERVAL_S), Duration.ZERO);
    }

    /** @return the defaults: {@value #DEFAULT_TIMEOUT_S} s timeout, a beat every {@value #MAX_INTERVAL_S} s */
    public static Liveness defaults() {
        return ofTimeout(Duration.ofSeconds(DEFAULT_TIMEOUT_S));
    }

    /** @return liveness as this process's {@value #TIMEOUT_VARIABLE} says */
    public static Liveness fromEnv() {
        return fromEnv(System.getenv());
    }

    /**
     * @param env the variables
     * @return liveness as {@value #TIMEOUT_VARIABLE} in {@code env} says, else the defaults
     * @throws IllegalArgumentException if the variable is not a number of seconds at least 0
     */
    public static Liveness fromEnv(Map<String, String> env) {
        String v = env.get(TIMEOUT_VARIABLE);
        if (v == null || v.isBlank()) {
            return defaults();
        }
        double seconds;
        try {
            seconds = Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(TIMEOUT_VARIABLE + " = '" + v + "' is not a number of seconds; hint: e.g. "
                    + TIMEOUT_VARIABLE + "=30, or 0 to turn heartbeats off", e);
        }
        if (!(seconds >= 0) || Double.isInfinite(seconds)) {
            throw new IllegalArgumentException(TIMEOUT_VARIABLE + " = " + v + " must be at least 0 (0 turns heartbeats off)");
        }
        return seconds == 0 ? off() : ofTimeout(Duration.ofNanos((long) (seconds * 1e9)));
    }

    /** @return whether heartbeats run */
    public boolean enabled() {
        return enabled(timeout);
    }

    private static boolean enabled(Duration timeout) {
        return !timeout.isZero();
    }
}
