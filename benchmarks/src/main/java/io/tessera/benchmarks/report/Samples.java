package io.tessera.benchmarks.report;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.DoubleSupplier;

/**
 * Measured durations of repeated runs, in seconds, and their statistics. Benchmarks report the
 * median: on a shared machine it ignores the runs that another process slowed down, which the mean
 * does not.
 *
 * <p>Thread safety: immutable.
 *
 * @param seconds one duration per timed run, in run order; at least one
 */
public record Samples(List<Double> seconds) {

    /**
     * Copies the list and checks that it holds at least one positive, finite duration per run.
     *
     * @throws IllegalArgumentException if the list is empty or holds a duration that is not positive
     */
    public Samples {
        if (seconds == null || seconds.isEmpty()) {
            throw new IllegalArgumentException("samples: no timed run; time at least one repetition");
        }
        seconds = List.copyOf(seconds);
        for (double s : seconds) {
            if (!(s > 0) || Double.isInfinite(s)) {
                throw new IllegalArgumentException("samples: duration " + s + " s is not a positive finite number");
            }
        }
    }

    /**
     * Times {@code reps} calls of {@code run} after {@code warmup} untimed ones.
     *
     * @param warmup untimed calls first (JIT, allocator and thread-pool warm-up)
     * @param reps timed calls, at least 1
     * @param run the work; its return value is ignored
     * @return the durations
     */
    public static Samples time(int warmup, int reps, Runnable run) {
        if (warmup < 0) {
            throw new IllegalArgumentException("warmup = " + warmup + " must be >= 0");
        }
        if (reps < 1) {
            throw new IllegalArgumentException("reps = " + reps + " must be >= 1");
        }
        for (int i = 0; i < warmup; i++) {
            run.run();
        }
        List<Double> out = new ArrayList<>(reps);
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            run.run();
            out.add((System.nanoTime() - t0) / 1e9);
        }
        return new Samples(out);
    }

    /**
     * Collects {@code reps} durations that {@code timedRun} measures itself (when only part of a call is
     * to be timed).
     *
     * @param reps number of runs
     * @param timedRun one run, returning its duration in seconds
     * @return the durations
     */
    public static Samples collect(int reps, DoubleSupplier timedRun) {
        List<Double> out = new ArrayList<>(reps);
        for (int i = 0; i < reps; i++) {
            out.add(timedRun.getAsDouble());
        }
        return new Samples(out);
    }

    /** @return the number of timed runs */
    public int count() {
        return seconds.size();
    }

    /** @return the median duration (mean of the two middle ones for an even count) */
    public double median() {
        List<Double> sorted = new ArrayList<>(seconds);
        Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    /** @return the arithmetic mean duration */
    public double mean() {
        double sum = 0;
        for (double s : seconds) {
            sum += s;
        }
        return sum / seconds.size();
    }

    /** @return the shortest duration */
    public double min() {
        return Collections.min(seconds);
    }

    /** @return the longest duration */
    public double max() {
        return Collections.max(seconds);
    }
}
