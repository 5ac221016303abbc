package io.tessera.train;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Finds {@code /usr/bin/python3} with PyTorch and a reference script, or skips the calling test class. */
public final class PythonReference {

    /** The interpreter the reference scripts run under (Debian's, which has PyTorch 1.13). */
    public static final String PYTHON = "/usr/bin/python3";

    private PythonReference() {}

    /**
     * @param relative the script's path from the repository root, e.g. {@code benchmarks/reference/hf_reference.py}
     * @return the script's absolute path; the caller is skipped (an assumption fails) without torch or the script
     * @throws Exception if probing the interpreter fails
     */
    public static Path script(String relative) throws Exception {
        boolean torch = false;
        if (Files.isExecutable(Path.of(PYTHON))) {
            Process p = new ProcessBuilder(PYTHON, "-c", "import torch").redirectErrorStream(true).start();
            torch = p.waitFor(120, TimeUnit.SECONDS) && p.exitValue() == 0;
        }
        assumeTrue(torch, "skipped: " + PYTHON + " cannot import torch (apt-get install python3-torch libopenblas0-pthread)");
        Path script = null;
        for (Path d = Path.of("").toAbsolutePath(); d != null && script == null; d = d.getParent()) {
            Path candidate = d.resolve(relative);
            script = Files.isRegularFile(candidate) ? candidate : null;
        }
        assumeTrue(script != null, "skipped: " + relative + " not found");
        return script;
    }
}
