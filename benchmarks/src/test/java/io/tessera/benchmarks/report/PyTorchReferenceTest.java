package io.tessera.benchmarks.report;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class PyTorchReferenceTest {

    @Test
    void missingInterpreterIsASkipNotAFailure() {
        PyTorchReference r = new PyTorchReference(Path.of("/nonexistent/python3"), null, Duration.ofSeconds(10));
        PyTorchReference.Availability a = r.probe();
        assertFalse(a.available());
        assertTrue(a.reason().contains("/nonexistent/python3"), a.reason());
    }

    @Test
    void scriptsTravelInTheJar() {
        Path dir = new PyTorchReference(PyTorchReference.DEFAULT_PYTHON, null, Duration.ofSeconds(10)).scripts();
        for (String s : PyTorchReference.SCRIPTS) {
            assertTrue(Files.isRegularFile(dir.resolve(s)), s + " not extracted to " + dir);
        }
    }

    @Test
    void unknownScriptIsRefused() {
        PyTorchReference r = new PyTorchReference(PyTorchReference.DEFAULT_PYTHON, null, Duration.ofSeconds(10));
        assertThrows(IllegalArgumentException.class, () -> r.run("rm.py", List.of(), 1));
    }
}
