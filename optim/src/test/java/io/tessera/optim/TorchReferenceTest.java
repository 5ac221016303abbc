package io.tessera.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.tessera.core.Torch;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * AdamW and LAMB against PyTorch: {@code src/test/resources/io/tessera/optim/torch_reference.py} runs
 * {@code torch.optim.AdamW} (two parameter groups) and a LAMB written in torch ops on the same tensors,
 * gradients and learning rates, and the trajectories are compared over three steps.
 *
 * <p>Needs {@code /usr/bin/python3} with {@code torch} importable (Debian's {@code python3-torch}); where
 * it is missing the test is skipped with a message, and the plain-Java references of {@link AdamWTest}
 * and {@link LambTest} still check the same formulas.
 */
class TorchReferenceTest {

    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final double[] LRS = {0.05, 0.02, 0.01};

    private static NDManager manager;

    @BeforeAll
    static void start() {
        manager = Torch.engine().newBaseManager();
    }

    @AfterAll
    static void stop() {
        manager.close();
    }

    @Test
    void adamwAndLambMatchPyTorch() throws Exception {
        Assumptions.assumeTrue(torchAvailable(), "skipped: /usr/bin/python3 with torch is not available"
                + " (apt-get install python3-torch); the plain-Java reference tests still ran");

        AdamW.Config adamw = AdamW.Config.builder().beta1(0.8).beta2(0.95).eps(1e-6).weightDecay(0.1).build();
        Lamb.Config lamb = Lamb.Config.builder().beta1(0.85).beta2(0.99).eps(1e-6).weightDecay(0.1).build();

        JsonObject spec = new JsonObject();
        JsonArray grads = new JsonArray();
        try (ParameterBuffer buffer = Fixture.buffer(Fixture.model(), manager)) {
            JsonArray tensors = new JsonArray();
            for (Parameter p : buffer.list()) {
                JsonObject t = new JsonObject();
                t.addProperty("name", p.name());
                t.add("shape", new Gson().toJsonTree(p.shape().getShape()));
                t.add("values", new Gson().toJsonTree(p.data().toFloatArray()));
                t.addProperty("decay", p.weightDecay());
                tensors.add(t);
            }
            spec.add("tensors", tensors);
            for (int step = 0; step < LRS.length; step++) {
                grads.add(new Gson().toJsonTree(Fixture.floats(Fixture.grads(step, buffer.numel()))));
            }
        }
        spec.add("grads", grads);
        spec.add("lrs", new Gson().toJsonTree(LRS));
        JsonObject a = new JsonObject();
        a.addProperty("beta1", adamw.beta1());
        a.addProperty("beta2", adamw.beta2());
        a.addProperty("eps", adamw.eps());
        a.addProperty("weight_decay", adamw.weightDecay());
        spec.add("adamw", a);
        JsonObject l = new JsonObject();
        l.addProperty("beta1", lamb.beta1());
        l.addProperty("beta2", lamb.beta2());
        l.addProperty("eps", lamb.eps());
        l.addProperty("weight_decay", lamb.weightDecay());
        l.addProperty("adapt_no_decay", lamb.adaptNoDecay());
        spec.add("lamb", l);

        JsonObject expected = runReference(spec);
        compare("AdamW", expected.getAsJsonArray("adamw"), (range, m) -> new AdamW(adamw, range, m));
        compare("LAMB", expected.getAsJsonArray("lamb"), (range, m) -> new Lamb(lamb, range, m));
    }

    private void compare(String what, JsonArray trajectory,
                         BiFunction<FlatRange, NDManager, Optimizer> factory) {
        assertEquals(LRS.length, trajectory.size(), what + " trajectory length from PyTorch");
        try (ParameterBuffer buffer = Fixture.buffer(Fixture.model(), manager);
             Optimizer opt = factory.apply(FlatRange.of(buffer), manager)) {
            for (int step = 0; step < LRS.length; step++) {
                Fixture.set(buffer.grads(), Fixture.asFloat(Fixture.grads(step, buffer.numel())));
                opt.step(buffer.params(), buffer.grads(), LRS[step]);
                double[] want = new Gson().fromJson(trajectory.get(step), double[].class);
                assertArrayEquals(want, Fixture.read(buffer.params()), 2e-6, what + " parameters after step " + (step + 1));
            }
        }
    }

    private static boolean torchAvailable() throws InterruptedException {
        if (!Files.isExecutable(PYTHON)) {
            return false;
        }
        try {
            Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import torch").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        }
    }

    private static JsonObject runReference(JsonObject spec) throws Exception {
        Path script = Path.of(TorchReferenceTest.class.getResource("torch_reference.py").toURI());
        Path errors = Files.createTempFile("torch_reference", ".err");
        try {
            Process p = new ProcessBuilder(List.of(PYTHON.toString(), script.toString()))
                    .redirectError(errors.toFile()).start();
            try (OutputStream in = p.getOutputStream()) {
                in.write(spec.toString().getBytes(StandardCharsets.UTF_8));
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "torch_reference.py did not finish in 120 s");
            assertEquals(0, p.exitValue(), "torch_reference.py failed:\n" + Files.readString(errors));
            return new Gson().fromJson(out, JsonObject.class);
        } finally {
            Files.delete(errors);
        }
    }
}
