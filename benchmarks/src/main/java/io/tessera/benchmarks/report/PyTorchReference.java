package io.tessera.benchmarks.report;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Runs the PyTorch reference scripts ({@code benchmarks/reference/*.py}) in a subprocess and reads the
 * JSON lines they print.
 *
 * <p>The scripts travel inside the benchmarks jar ({@code io/tessera/benchmarks/reference/}) and are
 * copied to a temporary directory on first use, unless a directory is given (the source tree's
 * {@code benchmarks/reference}). Every run gets {@code OMP_NUM_THREADS}, {@code MKL_NUM_THREADS} and
 * {@code OPENBLAS_NUM_THREADS} set to the thread count (OpenBLAS reads its pool size when it loads, before
 * {@code torch.set_num_threads} could change it), and the script gets {@code --threads} too. Standard
 * error passes through to this process's; standard output lines that start with <code>{</code> are
 * parsed as JSON, the others echoed.
 *
 * <p>Thread safety: not thread-safe; one run at a time.
 */
public final class PyTorchReference {

    /** Debian's interpreter, which has {@code python3-torch} (PyTorch 1.13) with OpenBLAS. */
    public static final Path DEFAULT_PYTHON = Path.of("/usr/bin/python3");

    /** The scripts this class can run. */
    public static final List<String> SCRIPTS = List.of("bert_step.py", "ddp_scaling.py", "matmul_ceiling.py");

    private static final String RESOURCE_DIR = "/io/tessera/benchmarks/reference/";

    private final Path python;
    private final Path scriptDir;
    private final Duration timeout;
    private Path extracted;

    /**
     * @param python the interpreter
     * @param scriptDir directory holding the scripts, or null to use the copies inside the jar
     * @param timeout longest a single script may run
     */
    public PyTorchReference(Path python, Path scriptDir, Duration timeout) {
        this.python = Objects.requireNonNull(python, "python");
        this.scriptDir = scriptDir;
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("reference timeout = " + timeout + " must be positive");
        }
    }

    /**
     * Whether the interpreter can import torch, and which version it has.
     *
     * @param available true when {@code import torch} worked
     * @param version torch's version, empty when unavailable
     * @param reason why it is unavailable, empty when available
     */
    public record Availability(boolean available, String version, String reason) {}

    /**
     * Checks that the interpreter exists and imports torch.
     *
     * @return the availability; never throws for a missing interpreter or module
     */
    public Availability probe() {
        if (!Files.isExecutable(python)) {
            return new Availability(false, "", python + " is not an executable interpreter; install Debian's python3"
                    + " and python3-torch, or pass --python");
        }
        try {
            Process p = new ProcessBuilder(python.toString(), "-c", "import torch; print(torch.__version__)")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Availability(false, "", python + " did not finish 'import torch' within 120 s");
            }
            if (p.exitValue() != 0) {
                String last = out.isEmpty() ? "" : out.substring(out.lastIndexOf('\n') + 1);
                return new Availability(false, "", python + " cannot import torch (" + last
                        + "); install python3-torch and libopenblas0-pthread");
            }
            return new Availability(true, out.substring(out.lastIndexOf('\n') + 1), "");
        } catch (IOException e) {
            return new Availability(false, "", "could not start " + python + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Availability(false, "", "interrupted while probing " + python);
        }
    }

    /**
     * Runs a script and returns the JSON objects it printed.
     *
     * @param script one of {@link #SCRIPTS}
     * @param args its arguments (without {@code --threads})
     * @param threads threads for BLAS/OpenMP and {@code torch.set_num_threads}
     * @return every JSON line, in order
     * @throws ReferenceException if the script cannot start, fails, times out or prints no JSON
     */
    public List<JsonObject> run(String script, List<String> args, int threads) {
        if (!SCRIPTS.contains(script)) {
            throw new IllegalArgumentException("unknown reference script '" + script + "'; known: " + SCRIPTS);
        }
        if (threads < 1) {
            throw new IllegalArgumentException("reference threads = " + threads + " must be at least 1");
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(python.toString());
        cmd.add(scripts().resolve(script).toString());
        cmd.addAll(args);
        cmd.add("--threads");
        cmd.add(Integer.toString(threads));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
        Map<String, String> env = pb.environment();
        String t = Integer.toString(threads);
        env.put("OMP_NUM_THREADS", t);
        env.put("MKL_NUM_THREADS", t);
        env.put("OPENBLAS_NUM_THREADS", t);
        List<JsonObject> out = new ArrayList<>();
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new ReferenceException("could not start " + String.join(" ", cmd) + ": " + e.getMessage(), e);
        }
        Thread reader = new Thread(() -> readJsonLines(p.getInputStream(), out, script), "reference-" + script);
        reader.setDaemon(true);
        reader.start();
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new ReferenceException(script + " did not finish within " + timeout.toSeconds()
                        + " s; lower --steps or raise --reference-timeout");
            }
            reader.join(10_000);
        } catch (InterruptedException e) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new ReferenceException("interrupted while running " + script, e);
        }
        if (p.exitValue() != 0) {
            throw new ReferenceException(script + " exited with status " + p.exitValue() + " (its error output is above): "
                    + String.join(" ", cmd));
        }
        synchronized (out) {
            if (out.isEmpty()) {
                throw new ReferenceException(script + " printed no JSON line: " + String.join(" ", cmd));
            }
            return List.copyOf(out);
        }
    }

    private static void readJsonLines(InputStream in, List<JsonObject> out, String script) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                String s = line.trim();
                if (s.startsWith("{")) {
                    try {
                        JsonElement e = JsonParser.parseString(s);
                        synchronized (out) {
                            out.add(e.getAsJsonObject());
                        }
                    } catch (JsonParseException | IllegalStateException e) {
                        System.err.println("[" + script + "] unparsable JSON line: " + s);
                    }
                } else if (!s.isEmpty()) {
                    System.err.println("[" + script + "] " + s);
                }
            }
        } catch (IOException e) {
            System.err.println("[" + script + "] output closed: " + e.getMessage());
        }
    }

    /** @return the directory holding the scripts, copying them out of the jar on first use */
    public Path scripts() {
        if (scriptDir != null) {
            return scriptDir;
        }
        if (extracted == null) {
            try {
                Path dir = Files.createTempDirectory("tessera-reference");
                for (String s : SCRIPTS) {
                    try (InputStream in = PyTorchReference.class.getResourceAsStream(RESOURCE_DIR + s)) {
                        if (in == null) {
                            throw new ReferenceException("reference script " + s + " is not on the class path under "
                                    + RESOURCE_DIR + "; build the benchmarks module, or pass --reference-dir"
                                    + " benchmarks/reference");
                        }
                        Files.copy(in, dir.resolve(s), StandardCopyOption.REPLACE_EXISTING);
                    }
                    dir.resolve(s).toFile().deleteOnExit();
                }
                dir.toFile().deleteOnExit();
                extracted = dir;
            } catch (IOException e) {
                throw new ReferenceException("could not copy the reference scripts to a temporary directory: " + e.getMessage(), e);
            }
        }
        return extracted;
    }

    /** A reference script that could not run or gave no result. */
    public static final class ReferenceException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        /**
         * @param message what failed and what to do
         */
        public ReferenceException(String message) {
            super(message);
        }

        /**
         * @param message what failed and what to do
         * @param cause the underlying error
         */
        public ReferenceException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
