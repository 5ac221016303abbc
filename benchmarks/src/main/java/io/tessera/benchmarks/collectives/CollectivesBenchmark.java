package io.tessera.benchmarks.collectives;

import io.tessera.parallel.comm.CommOptions;
import io.tessera.parallel.launch.LocalLauncher;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Measures Tessera's Netty backend against PyTorch's Gloo on N local processes and prints the ratio.
 *
 * <p>For each world size, {@code N} JVMs ({@link CollectivesWorker}) join a job over loopback (rank 0
 * hosts the store) and time each collective on fp32 buffers; then
 * {@code benchmarks/reference/gloo_collectives.py} does the same with {@code torch.distributed} over
 * Gloo. Bandwidths follow nccl-tests: {@code algbw = bytes / time} and {@code busbw = algbw ×} the
 * op's {@link CollectiveOp#busFactor(int) factor} (2(n−1)/n for all-reduce). Times are the slowest
 * rank's mean over the timed iterations.
 *
 * <pre>
 *   java -cp ... io.tessera.benchmarks.collectives.CollectivesBenchmark --worlds 2,4 --sizes 1MB,16MB,64MB \
 *        --ops allreduce --iters 10 --json collectives.json
 * </pre>
 *
 * <p>Thread safety: stateless; {@link #run(Options)} may be called from any thread.
 */
public final class CollectivesBenchmark {

    /** The Tessera backend's name in results. */
    public static final String TESSERA = "tessera-netty";
    /** The reference backend's name in results. */
    public static final String GLOO = "torch-gloo";

    /**
     * What to measure.
     *
     * @param worlds process counts
     * @param sizes buffer sizes in bytes (fp32)
     * @param ops the collectives
     * @param iterations timed iterations per measurement
     * @param warmup untimed iterations first
     * @param chunkBytes Tessera's chunk size (and shared-memory slot size)
     * @param sameHost how Tessera moves data between its local processes
     * @param ioThreads Netty event-loop threads per process
     * @param json where to write the results, or null
     * @param python the interpreter for the Gloo reference, or null to skip it
     * @param glooScript the Gloo reference script
     * @param timeoutSeconds bound on each backend's run per world size
     */
    public record Options(List<Integer> worlds, List<Long> sizes, List<CollectiveOp> ops, int iterations, int warmup,
            int chunkBytes, CommOptions.SameHost sameHost, int ioThreads, Path json, Path python, Path glooScript, int timeoutSeconds) {

        public Options {
            worlds = List.copyOf(worlds);
            sizes = List.copyOf(sizes);
            ops = List.copyOf(ops);
            Objects.requireNonNull(sameHost, "sameHost");
            Objects.requireNonNull(glooScript, "glooScript");
            for (int w : worlds) {
                if (w < 2) {
                    throw new IllegalArgumentException("collectives benchmark: world " + w + " must be at least 2");
                }
            }
            for (long s : sizes) {
                if (s < 4 * 64 || s > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("collectives benchmark: size " + s + " must be in [256 B, 2 GiB)");
                }
            }
            if (iterations < 1 || warmup < 0) {
                throw new IllegalArgumentException("collectives benchmark: iterations = " + iterations + " must be at least 1"
                        + " and warmup = " + warmup + " at least 0");
            }
        }

        /**
         * The default run: worlds 2 and 4; 1, 4, 16 and 64 MiB; all-reduce; 20 iterations after at
         * least 3 warm-ups; 4 MiB chunks pulled by cross-memory attach; Gloo through
         * {@code /usr/bin/python3}.
         *
         * @return the defaults
         */
        public static Options defaults() {
            return new Options(List.of(2, 4), List.of(1L << 20, 4L << 20, 16L << 20, 64L << 20), List.of(CollectiveOp.ALLREDUCE),
                    20, 3, 4 << 20, CommOptions.SameHost.CROSS_MEMORY, 1, null, Path.of("/usr/bin/python3"), Path.of("benchmarks/reference/gloo_collectives.py"),
                    600);
        }
    }

    /**
     * One measurement.
     *
     * @param backend {@link #TESSERA} or {@link #GLOO}
     * @param op the collective
     * @param world processes
     * @param bytes buffer size
     * @param seconds time per op
     * @param algbwGbps bytes / time, GB/s (10^9)
     * @param busbwGbps algbw × the op's bus factor, GB/s
     */
    public record Row(String backend, CollectiveOp op, int world, long bytes, double seconds, double algbwGbps, double busbwGbps) {}

    private CollectivesBenchmark() {}

    /**
     * Runs the benchmark, prints the table, and writes the JSON if asked.
     *
     * @param options what to measure
     * @return every measurement
     */
    public static List<Row> run(Options options) {
        List<Row> rows = new ArrayList<>();
        String skipGloo = glooUnavailable(options);
        if (skipGloo != null) {
            System.out.println("torch-gloo column skipped: " + skipGloo);
        }
        for (int world : options.worlds()) {
            rows.addAll(parse(TESSERA, world, runTessera(options, world)));
            if (skipGloo == null) {
                rows.addAll(parse(GLOO, world, runGloo(options, world)));
            }
        }
        System.out.print(table(rows));
        if (options.json() != null) {
            try {
                Files.writeString(options.json(), json(rows));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write " + options.json(), e);
            }
            System.out.println("wrote " + options.json());
        }
        return rows;
    }

    /**
     * Command line: {@code --worlds 2,4 --sizes 1MB,64MB --ops allreduce,allgather --iters 20 --warmup 3
     * --chunk 4MB --same-host cross-memory|shared-memory|tcp --io-threads 1 --json out.json
     * --python /usr/bin/python3 --no-gloo}.
     *
     * @param args the flags
     */
    public static void main(String[] args) {
        run(parseArgs(args));
    }

    /** @return the usage text of {@code tessera bench collectives} */
    public static String usage() {
        return """
                usage: tessera bench collectives [options]
                  Times Tessera's Netty collectives across N local processes beside PyTorch's Gloo
                  (benchmarks/reference/gloo_collectives.py) and prints bus bandwidth and Tessera ÷ Gloo.
                  --worlds 2,4            process counts                      (2,4)
                  --sizes 1MB,4MB,...     message sizes, binary units         (1MB,4MB,16MB,64MB)
                  --ops allreduce,...     collectives                         (allreduce)
                  --iters N               timed iterations, median reported  (20)
                  --warmup N              untimed iterations first            (3)
                  --chunk SIZE            ring chunk                          (4MB)
                  --same-host MODE        cross-memory|shared-memory|tcp      (cross-memory)
                  --io-threads N          Netty event-loop threads            (1)
                  --json FILE             also write the rows as JSON
                  --python PATH           interpreter with torch              (/usr/bin/python3)
                  --gloo-script FILE      the Gloo reference                  (benchmarks/reference/gloo_collectives.py)
                  --no-gloo               skip PyTorch
                  --timeout S             seconds per job                     (600)
                """;
    }

    /**
     * Parses command-line flags over {@link Options#defaults()}.
     *
     * @param args the flags
     * @return the options
     */
    public static Options parseArgs(String[] args) {
        Options d = Options.defaults();
        List<Integer> worlds = d.worlds();
        List<Long> sizes = d.sizes();
        List<CollectiveOp> ops = d.ops();
        int iters = d.iterations();
        int warmup = d.warmup();
        int chunk = d.chunkBytes();
        CommOptions.SameHost sameHost = d.sameHost();
        int io = d.ioThreads();
        Path json = d.json();
        Path python = d.python();
        Path script = d.glooScript();
        int timeout = d.timeoutSeconds();
        for (int i = 0; i < args.length; i++) {
            String flag = args[i];
            switch (flag) {
                case "--no-gloo":
                    python = null;
                    continue;
                default:
                    break;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("collectives benchmark: " + flag + " needs a value");
            }
            String v = args[++i];
            switch (flag) {
                case "--worlds":
                    worlds = split(v).stream().map(Integer::parseInt).collect(Collectors.toList());
                    break;
                case "--sizes":
                    sizes = split(v).stream().map(CollectivesBenchmark::bytes).collect(Collectors.toList());
                    break;
                case "--ops":
                    ops = split(v).stream().map(CollectiveOp::parse).collect(Collectors.toList());
                    break;
                case "--iters":
                    iters = Integer.parseInt(v);
                    break;
                case "--warmup":
                    warmup = Integer.parseInt(v);
                    break;
                case "--chunk":
                    chunk = Math.toIntExact(bytes(v));
                    break;
                case "--same-host":
                    sameHost = CommOptions.SameHost.valueOf(v.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
                    break;
                case "--io-threads":
                    io = Integer.parseInt(v);
                    break;
                case "--json":
                    json = Path.of(v);
                    break;
                case "--python":
                    python = Path.of(v);
                    break;
                case "--gloo-script":
                    script = Path.of(v);
                    break;
                case "--timeout":
                    timeout = Integer.parseInt(v);
                    break;
                default:
                    throw new IllegalArgumentException("collectives benchmark: unknown flag " + flag + "; flags: --worlds --sizes"
                            + " --ops --iters --warmup --chunk --same-host --io-threads --json --python --gloo-script --no-gloo --timeout");
            }
        }
        return new Options(worlds, sizes, ops, iters, warmup, chunk, sameHost, io, json, python, script, timeout);
    }

    /**
     * Parses a size such as {@code 16MB}, {@code 512KB} or {@code 1048576} (binary units).
     *
     * @param text the size
     * @return bytes
     */
    public static long bytes(String text) {
        String t = text.trim().toUpperCase(Locale.ROOT);
        long unit = 1;
        if (t.endsWith("GB") || t.endsWith("G")) {
            unit = 1L << 30;
        } else if (t.endsWith("MB") || t.endsWith("M")) {
            unit = 1L << 20;
        } else if (t.endsWith("KB") || t.endsWith("K")) {
            unit = 1L << 10;
        }
        String digits = t.replaceAll("[A-Z]+$", "");
        try {
            return Long.parseLong(digits) * unit;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("collectives benchmark: size '" + text + "' is not e.g. 16MB, 512KB or 1024", e);
        }
    }

    /**
     * The results as JSON: {@code {"rows":[{"backend":..,"op":..,"world":..,"bytes":..,"algbw_gbps":..,"busbw_gbps":..}]}}.
     *
     * @param rows the measurements
     * @return the JSON text
     */
    public static String json(List<Row> rows) {
        StringBuilder b = new StringBuilder("{\"rows\":[");
        for (int i = 0; i < rows.size(); i++) {
            Row r = rows.get(i);
            b.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT,
                    "{\"backend\":\"%s\",\"op\":\"%s\",\"world\":%d,\"bytes\":%d,\"seconds\":%.9f,\"algbw_gbps\":%.4f,\"busbw_gbps\":%.4f}",
                    r.backend(), r.op().label(), r.world(), r.bytes(), r.seconds(), r.algbwGbps(), r.busbwGbps()));
        }
        return b.append("]}\n").toString();
    }

    /**
     * The results as a table with one line per (op, world, size) and the ratio of busbw, Tessera over Gloo.
     *
     * @param rows the measurements
     * @return the table
     */
    public static String table(List<Row> rows) {
        Map<String, Row[]> byKey = new LinkedHashMap<>();
        for (Row r : rows) {
            Row[] pair = byKey.computeIfAbsent(r.op().label() + "/" + r.world() + "/" + r.bytes(), k -> new Row[2]);
            pair[r.backend().equals(TESSERA) ? 0 : 1] = r;
        }
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%-10s %5s %9s | %12s %12s | %12s %12s | %8s%n",
                "op", "world", "size", "tessera alg", "tessera bus", "gloo alg", "gloo bus", "ratio"));
        for (Row[] pair : byKey.values()) {
            Row any = pair[0] != null ? pair[0] : pair[1];
            b.append(String.format(Locale.ROOT, "%-10s %5d %9s | %12s %12s | %12s %12s | %8s%n", any.op().label(), any.world(),
                    human(any.bytes()), gbps(pair[0], false), gbps(pair[0], true), gbps(pair[1], false), gbps(pair[1], true),
                    pair[0] != null && pair[1] != null ? String.format(Locale.ROOT, "%.2fx", pair[0].busbwGbps() / pair[1].busbwGbps())
                            : "-"));
        }
        return b.append("(GB/s; ratio = tessera busbw / gloo busbw)\n").toString();
    }

    private static String gbps(Row r, boolean bus) {
        return r == null ? "-" : String.format(Locale.ROOT, "%.3f", bus ? r.busbwGbps() : r.algbwGbps());
    }

    private static String human(long bytes) {
        return bytes % (1 << 20) == 0 ? bytes / (1 << 20) + "MB" : bytes % 1024 == 0 ? bytes / 1024 + "KB" : bytes + "B";
    }

    private static List<String> split(String v) {
        List<String> out = new ArrayList<>();
        for (String s : v.split(",")) {
            if (!s.isBlank()) {
                out.add(s.trim());
            }
        }
        return out;
    }

    private static List<Row> parse(String backend, int world, List<String> lines) {
        List<Row> rows = new ArrayList<>();
        for (String line : lines) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 4 && f[0].equals("RESULT")) {
                CollectiveOp op = CollectiveOp.parse(f[1]);
                long bytes = Long.parseLong(f[2]);
                double seconds = Double.parseDouble(f[3]);
                double alg = bytes / seconds / 1e9;
                rows.add(new Row(backend, op, world, bytes, seconds, alg, alg * op.busFactor(world)));
            } else if (f.length > 0 && f[0].equals("SKIP")) {
                System.out.println(backend + " world " + world + ": " + line.trim());
            }
        }
        return rows;
    }

    private static String glooUnavailable(Options o) {
        if (o.python() == null) {
            return "disabled (--no-gloo)";
        }
        if (!Files.isExecutable(o.python())) {
            return o.python() + " not found";
        }
        if (!Files.isRegularFile(o.glooScript())) {
            return o.glooScript() + " not found; run from the repository root or pass --gloo-script";
        }
        try {
            Process p = new ProcessBuilder(o.python().toString(), "-c", "import torch.distributed as d; assert d.is_available()")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return o.python() + " cannot import torch.distributed: " + out.strip();
            }
            return null;
        } catch (IOException e) {
            return "cannot run " + o.python() + ": " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }

    private static List<String> runTessera(Options o, int world) {
        String ops = o.ops().stream().map(CollectiveOp::label).collect(Collectors.joining(","));
        String sizes = o.sizes().stream().map(String::valueOf).collect(Collectors.joining(","));
        List<String> command = LocalLauncher.javaCommand(CollectivesWorker.class.getName(), List.of("-Xmx1g", "-XX:+UseParallelGC"),
                List.of(ops, sizes, Integer.toString(o.iterations()), Integer.toString(o.warmup()), Integer.toString(o.chunkBytes()),
                        Integer.toString(o.ioThreads()), o.sameHost().name()));
        List<String> lines = new ArrayList<>();
        int code;
        try {
            code = LocalLauncher.builder(world, command).grace(Duration.ofSeconds(5)).timeout(Duration.ofSeconds(o.timeoutSeconds()))
                    .output((rank, line) -> {
                        if (rank == 0) {
                            synchronized (lines) {
                                lines.add(line);
                            }
                        }
                    }).build().run();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the Tessera workers", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(TESSERA + " world " + world + " interrupted", e);
        } catch (IllegalStateException e) {
            throw new IllegalStateException(TESSERA + " world " + world + ": " + e.getMessage() + " (--timeout)", e);
        }
        synchronized (lines) {
            if (code != 0) {
                throw new IllegalStateException(TESSERA + " world " + world + " failed with exit code " + code
                        + "; output of rank 0:\n" + String.join("\n", lines));
            }
            return new ArrayList<>(lines);
        }
    }

    private static List<String> runGloo(Options o, int world) {
        List<String> cmd = List.of(o.python().toString(), o.glooScript().toString(), "--world", Integer.toString(world), "--ops",
                o.ops().stream().map(CollectiveOp::label).collect(Collectors.joining(",")), "--sizes",
                o.sizes().stream().map(String::valueOf).collect(Collectors.joining(",")), "--iters", Integer.toString(o.iterations()),
                "--warmup", Integer.toString(o.warmup()));
        Process p = null;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            return collect(List.of(p), o.timeoutSeconds(), GLOO + " world " + world);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + String.join(" ", cmd), e);
        } finally {
            if (p != null) {
                p.destroyForcibly();
            }
        }
    }

    /** Reads the first process's output to its end and waits for all of them, within the timeout. */
    private static List<String> collect(List<Process> procs, int timeoutSeconds, String what) throws IOException {
        List<String> lines = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        Process first = procs.get(0);
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(first.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    synchronized (lines) {
                        lines.add(line);
                    }
                }
            } catch (IOException e) {
                synchronized (lines) {
                    lines.add("(output lost: " + e + ")");
                }
            }
        }, "benchmark-output");
        reader.setDaemon(true);
        reader.start();
        try {
            for (Process p : procs) {
                if (!p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    throw new IllegalStateException(what + " did not finish within " + timeoutSeconds + " s; hint: raise --timeout");
                }
            }
            reader.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(what + " interrupted", e);
        }
        synchronized (lines) {
            for (Process p : procs) {
                if (p.exitValue() != 0) {
                    throw new IllegalStateException(what + " failed with exit code " + p.exitValue() + "; output of the first"
                            + " process:\n" + String.join("\n", lines));
                }
            }
            return new ArrayList<>(lines);
        }
    }
}
