package io.tessera.core.gemm;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses, per product shape, the fastest of several {@link Gemm} backends by measuring them on this
 * machine, and then calls that one.
 *
 * <p>The first call with a given {@code (m, k, n, transposeA, transposeB)} times every candidate on
 * scratch operands of that shape ({@code trials} interleaved runs each after one warm-up, median kept, so
 * that load from other processes falls on all candidates alike) and records a {@link Decision}; later
 * calls go straight to the winner. A linear layer's forward, input-gradient and weight-gradient products
 * have different shapes and transposes, so each gets its own decision. The first training step pays for
 * the measurements; benchmarks count it as warm-up.
 *
 * <pre>{@code
 * Gemm gemm = MeasuredGemm.ofDefaults();        // libtorch vs OpenBLAS
 * NDArray y = gemm.linearForward(x, w, manager); // y = x·Wᵀ by whichever is faster for this shape
 * gemm.decisions().values().forEach(System.out::println);
 * }</pre>
 *
 * <p>Timings are noisy, so two processes measuring the same shape may choose differently, and their
 * results then differ in the last bits. Two things pin the choices:
 * <ul>
 *   <li>a {@link GemmPlanCache} ({@link #planned}, the default strategy {@code planned}): a shape is
 *       measured once per machine and thread count, under a file lock, and every later process on the
 *       machine (the other ranks, the next run) reads the choice instead of timing again;
 *   <li>{@link #adopt}: a resumed run takes the decisions its first part recorded ({@link GemmPlan}).
 * </ul>
 * Without a cache ({@link #ofDefaults}, strategy {@code measured}) every process measures afresh: for
 * benchmarks.
 *
 * <p>Thread safety: thread-safe. Decisions are made under a lock (one shape at a time) and read without
 * one.
 */
public final class MeasuredGemm implements Gemm {

    /** The name in reports. */
    public static final String NAME = "measured";

    /** The name of the cached variant in reports. */
    public static final String PLANNED_NAME = "planned";

    private static final Logger LOG = LoggerFactory.getLogger(MeasuredGemm.class);

    private final List<Gemm> candidates;
    private final int trials;
    private final GemmPlanCache cache;
    private final Map<Key, Decision> decisions = new ConcurrentHashMap<>();

    /**
     * @param candidates the backends to choose from, at least one; ties go to the earlier one
     * @param trials timed runs per candidate and shape, at least 1
     */
    public MeasuredGemm(List<Gemm> candidates, int trials) {
        this(candidates, trials, null);
    }

    /**
     * @param candidates the backends to choose from, at least one; ties go to the earlier one
     * @param trials timed runs per candidate and shape, at least 1
     * @param cache where this machine's choices are kept and shared, or null to measure in every process
     */
    public MeasuredGemm(List<Gemm> candidates, int trials, GemmPlanCache cache) {
        Objects.requireNonNull(candidates, "candidates");
        if (candidates.isEmpty()) {
            throw new IllegalArgumentException("MeasuredGemm: no candidate backend; pass at least one Gemm");
        }
        if (trials < 1) {
            throw new IllegalArgumentException("MeasuredGemm: trials = " + trials + " must be at least 1");
        }
        this.candidates = List.copyOf(candidates);
        this.trials = trials;
        this.cache = cache;
    }

    /** @return a strategy choosing between {@link LibtorchGemm} and {@link OpenBlasGemm}, 5 trials per shape */
    public static MeasuredGemm ofDefaults() {
        return new MeasuredGemm(List.of(new LibtorchGemm(), new OpenBlasGemm()), 5);
    }

    /**
     * @param cache this machine's choices
     * @return a strategy choosing between {@link LibtorchGemm} and {@link OpenBlasGemm} once per machine
     */
    public static MeasuredGemm planned(GemmPlanCache cache) {
        return new MeasuredGemm(List.of(new LibtorchGemm(), new OpenBlasGemm()), 5, Objects.requireNonNull(cache, "cache"));
    }

    @Override
    public String name() {
        return cache != null ? PLANNED_NAME : NAME;
    }

    /** @return the machine cache, or null when every process measures */
    public GemmPlanCache cache() {
        return cache;
    }

    /** @return the decisions so far as a plan, for a run folder */
    public GemmPlan plan() {
        Map<String, String> out = new LinkedHashMap<>();
        decisions().forEach((k, d) -> out.put(k, d.chosen().name()));
        return new GemmPlan(name(), out);
    }

    /**
     * Takes a recorded plan's decisions: each shape it names is computed by the backend it names from
     * now on, replacing any decision of this process. A plan with no {@code +=} entry was written before
     * products added into C were decided apart, when they followed the decision of the same product into a
     * new tensor; adopting it gives them that decision again, so that a resumed run keeps its choices.
     *
     * @param plan a plan written by an earlier part of the run
     * @throws IllegalArgumentException if the plan names a shape it cannot parse or a backend this
     *     strategy does not have
     */
    public synchronized void adopt(GemmPlan plan) {
        Map<Key, Gemm> entries = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : plan.decisions().entrySet()) {
            entries.put(Key.parse(e.getKey()), candidate(e.getValue(), "GEMM plan entry " + e.getKey()));
        }
        boolean addsDecidedApart = entries.keySet().stream().anyMatch(Key::accumulate);
        for (Map.Entry<Key, Gemm> e : entries.entrySet()) {
            Key key = e.getKey();
            Gemm g = e.getValue();
            decisions.put(key, new Decision(key, g, Map.of(), sequenceOf(key)));
            if (!addsDecidedApart) {
                Key add = new Key(key.m, key.k, key.n, key.transposeA, key.transposeB, true);
                decisions.put(add, new Decision(add, g, Map.of(), sequenceOf(add)));
            }
        }
    }

    @Override
    public NDArray multiply(NDArray a, boolean transposeA, NDArray b, boolean transposeB, NDManager manager) {
        return choose(a, transposeA, b, transposeB, false).multiply(a, transposeA, b, transposeB, manager);
    }

    @Override
    public void multiplyAdd(NDArray a, boolean transposeA, NDArray b, boolean transposeB, NDArray c) {
        choose(a, transposeA, b, transposeB, true).multiplyAdd(a, transposeA, b, transposeB, c);
    }

    /** @return the decisions made so far, in the order they were made */
    public Map<String, Decision> decisions() {
        List<Decision> list = new ArrayList<>(decisions.values());
        list.sort((x, y) -> Long.compare(x.sequence(), y.sequence()));
        Map<String, Decision> out = new LinkedHashMap<>();
        for (Decision d : list) {
            out.put(d.key().toString(), d);
        }
        return Collections.unmodifiableMap(out);
    }

    private Gemm choose(NDArray a, boolean transposeA, NDArray b, boolean transposeB, boolean accumulate) {
        int[] mkn = Gemm.dimensions(a, transposeA, b, transposeB, NAME);
        Key key = new Key(mkn[0], mkn[1], mkn[2], transposeA, transposeB, accumulate);
        Decision d = decisions.get(key);
        if (d == null) {
            d = decide(key);
        }
        return d.chosen();
    }

    private synchronized Decision decide(Key key) {
        Decision existing = decisions.get(key);
        if (existing != null) {
            return existing;
        }
        Decision d = cache == null ? measure(key, decisions.size()) : fromCache(key);
        decisions.put(key, d);
        return d;
    }

    /** The machine's choice for the shape at this thread count, measured here if no process made it yet. */
    private Decision fromCache(Key key) {
        String cacheKey = "t" + io.tessera.core.Torch.threads() + " " + key;
        Decision[] measured = new Decision[1];
        try {
            String name = cache.decide(cacheKey, () -> {
                measured[0] = measure(key, decisions.size());
                return measured[0].chosen().name();
            });
            return measured[0] != null ? measured[0]
                    : new Decision(key, candidate(name, cache.file() + " entry " + cacheKey), Map.of(), decisions.size());
        } catch (java.io.IOException | IllegalArgumentException e) {
            LOG.warn("gemm planned: cannot use the plan cache {} ({}); measuring {} in this process only, so other processes"
                    + " may choose differently (set {}=<writable file> to fix)", cache.file(), e.getMessage(), key, GemmPlanCache.ENV);
            return measured[0] != null ? measured[0] : measure(key, decisions.size());
        }
    }

    private Gemm candidate(String name, String where) {
        for (Gemm g : candidates) {
            if (g.name().equals(name)) {
                return g;
            }
        }
        List<String> names = candidates.stream().map(Gemm::name).toList();
        throw new IllegalArgumentException(where + " names backend '" + name + "', but this strategy chooses among " + names
                + "; delete the plan file to measure again");
    }

    private long sequenceOf(Key key) {
        Decision d = decisions.get(key);
        return d != null ? d.sequence() : decisions.size();
    }

    private Decision measure(Key key, long sequence) {
        double[] medians = new double[candidates.size()];
        try (NDManager scratch = NDManager.newBaseManager(Device.cpu())) {
            // Operands without libtorch's generator: drawing from it here, outside Rng's lock, would shift
            // the dropout masks of in-JVM ranks drawing at the same time. The values do not matter.
            NDArray a = scratch.full(key.transposeA ? new Shape(key.k, key.m) : new Shape(key.m, key.k), 0.5f);
            NDArray b = scratch.full(key.transposeB ? new Shape(key.n, key.k) : new Shape(key.k, key.n), -0.25f);
            // An accumulating product is timed as one: into a kept C (libtorch adds a fresh product to it,
            // OpenBLAS writes it in place with beta = 1), so the choice counts the extra pass and allocation.
            NDArray sum = key.accumulate ? scratch.zeros(new Shape(key.m, key.n)) : null;
            List<List<Double>> times = new ArrayList<>();
            for (Gemm g : candidates) {
                run(g, key, a, b, sum, scratch);
                times.add(new ArrayList<>());
            }
            for (int t = 0; t < trials; t++) {
                for (int i = 0; i < candidates.size(); i++) {
                    long t0 = System.nanoTime();
                    run(candidates.get(i), key, a, b, sum, scratch);
                    times.get(i).add((System.nanoTime() - t0) / 1e9);
                }
            }
            for (int i = 0; i < candidates.size(); i++) {
                medians[i] = median(times.get(i));
            }
        }
        int best = 0;
        for (int i = 1; i < medians.length; i++) {
            if (medians[i] < medians[best]) {
                best = i;
            }
        }
        Map<String, Double> gflops = new LinkedHashMap<>();
        double flops = 2.0 * key.m * key.k * key.n;
        for (int i = 0; i < medians.length; i++) {
            gflops.put(candidates.get(i).name(), flops / medians[i] / 1e9);
        }
        return new Decision(key, candidates.get(best), Collections.unmodifiableMap(gflops), sequence);
    }

    /** One product of the kind the key names: into a new tensor (then freed), or added into {@code sum}. */
    private static void run(Gemm g, Key key, NDArray a, NDArray b, NDArray sum, NDManager scratch) {
        if (key.accumulate) {
            g.multiplyAdd(a, key.transposeA, b, key.transposeB, sum);
        } else {
            g.multiply(a, key.transposeA, b, key.transposeB, scratch).close();
        }
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    @Override
    public String toString() {
        return NAME + candidates;
    }

    /**
     * A product's shape and transposes, {@code op(A) [m×k] · op(B) [k×n]}, and whether it is added into an
     * existing C ({@link #multiplyAdd}: a weight gradient) or written to a new tensor. The two are decided
     * apart: adding costs libtorch a fresh product and a pass over C, and OpenBLAS nothing extra.
     *
     * @param m rows of the result
     * @param k inner dimension
     * @param n columns of the result
     * @param transposeA whether A is transposed
     * @param transposeB whether B is transposed
     * @param accumulate whether the product is added into C
     */
    public record Key(int m, int k, int n, boolean transposeA, boolean transposeB, boolean accumulate) {

        /** A product into a new tensor. */
        public Key(int m, int k, int n, boolean transposeA, boolean transposeB) {
            this(m, k, n, transposeA, transposeB, false);
        }

        /** @return e.g. {@code 1024x768x3072 NT} (N: as stored, T: transposed), or {@code 768x1024x3072 TN +=} when added into C */
        @Override
        public String toString() {
            return m + "x" + k + "x" + n + " " + (transposeA ? "T" : "N") + (transposeB ? "T" : "N") + (accumulate ? " +=" : "");
        }

        /**
         * @param text as {@link #toString()} writes it
         * @return the key
         * @throws IllegalArgumentException if the text is not a key
         */
        public static Key parse(String text) {
            java.util.regex.Matcher mt = java.util.regex.Pattern.compile("(\\d+)x(\\d+)x(\\d+) ([NT])([NT])( \\+=)?").matcher(text.trim());
            if (!mt.matches()) {
                throw new IllegalArgumentException("GEMM shape '" + text + "': expected MxKxN followed by two of N/T and, for a"
                        + " product added into C, ' +=', e.g. 64x32x128 NT or 128x32x64 TN +=");
            }
            return new Key(Integer.parseInt(mt.group(1)), Integer.parseInt(mt.group(2)), Integer.parseInt(mt.group(3)),
                    mt.group(4).equals("T"), mt.group(5).equals("T"), mt.group(6) != null);
        }
    }

    /**
     * The outcome of measuring one shape.
     *
     * @param key the shape
     * @param chosen the faster backend
     * @param gflops each candidate's median GFLOP/s by name
     * @param sequence order in which decisions were made
     */
    public record Decision(Key key, Gemm chosen, Map<String, Double> gflops, long sequence) {
        @Override
        public String toString() {
            if (gflops.isEmpty()) {
                return key + " -> " + chosen.name() + " (from the plan)";
            }
            StringBuilder sb = new StringBuilder(key.toString()).append(" -> ").append(chosen.name()).append(" (");
            String sep = "";
            for (Map.Entry<String, Double> e : gflops.entrySet()) {
                sb.append(sep).append(e.getKey()).append(String.format(Locale.ROOT, " %.1f", e.getValue()));
                sep = ", ";
            }
            return sb.append(" GFLOP/s)").toString();
        }
    }
}
