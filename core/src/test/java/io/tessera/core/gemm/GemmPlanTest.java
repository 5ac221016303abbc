package io.tessera.core.gemm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The per-shape choice is pinned by the machine cache and by a run's recorded plan, whatever the
 * timings: backends whose speed is swapped between two "processes" still give the first one's choice.
 */
class GemmPlanTest {

    /** The slow candidate's pause: far above a tiny product's time even on a loaded 2-core machine (20 ms was not). */
    private static final int SLOW_MS = 200;

    static NDManager manager;

    @BeforeAll
    static void setUp() {
        Torch.engine();
        manager = NDManager.newBaseManager(Device.cpu());
    }

    @AfterAll
    static void tearDown() {
        manager.close();
    }

    /** libtorch's product under another name, made slow on demand. */
    record Timed(String name, long delayMillis) implements Gemm {
        @Override
        public NDArray multiply(NDArray a, boolean ta, NDArray b, boolean tb, NDManager m) {
            pause();
            return new LibtorchGemm().multiply(a, ta, b, tb, m);
        }

        @Override
        public void multiplyAdd(NDArray a, boolean ta, NDArray b, boolean tb, NDArray c) {
            pause();
            new LibtorchGemm().multiplyAdd(a, ta, b, tb, c);
        }

        private void pause() {
            try {
                Thread.sleep(delayMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static String chosen(MeasuredGemm g) {
        NDArray a = manager.randomUniform(-1f, 1f, new Shape(6, 5), DataType.FLOAT32);
        NDArray b = manager.randomUniform(-1f, 1f, new Shape(4, 5), DataType.FLOAT32);
        g.multiply(a, false, b, true, manager);
        return g.decisions().get("6x5x4 NT").chosen().name();
    }

    @Test
    void machineCacheKeepsTheFirstProcesssChoice(@TempDir Path dir) throws IOException {
        GemmPlanCache cache = new GemmPlanCache(dir.resolve("plan.json"));
        MeasuredGemm first = new MeasuredGemm(List.of(new Timed("a", SLOW_MS), new Timed("b", 0)), 1, cache);
        assertEquals("b", chosen(first));
        assertEquals("planned", first.name());
        assertEquals(Map.of("t" + Torch.threads() + " 6x5x4 NT", "b"), cache.read());

        // The next process finds the speeds reversed: measuring would pick "a", the cache keeps "b".
        List<Gemm> reversed = List.of(new Timed("a", 0), new Timed("b", SLOW_MS));
        assertEquals("a", chosen(new MeasuredGemm(reversed, 1)));
        assertEquals("b", chosen(new MeasuredGemm(reversed, 1, new GemmPlanCache(dir.resolve("plan.json")))));
    }

    @Test
    void adoptedPlanOverridesMeasurement(@TempDir Path dir) throws IOException {
        MeasuredGemm original = new MeasuredGemm(List.of(new Timed("a", SLOW_MS), new Timed("b", 0)), 1);
        assertEquals("b", chosen(original));
        Path file = dir.resolve(GemmPlan.RUN_FILE);
        original.plan().write(file);
        GemmPlan plan = GemmPlan.read(file);
        assertEquals(new GemmPlan("measured", Map.of("6x5x4 NT", "b")), plan);

        MeasuredGemm resumed = new MeasuredGemm(List.of(new Timed("a", 0), new Timed("b", SLOW_MS)), 1);
        assertEquals("a", chosen(resumed)); // decided before the plan was adopted
        resumed.adopt(plan);
        assertEquals("b", chosen(resumed));
        assertTrue(resumed.decisions().get("6x5x4 NT").toString().contains("from the plan"));
    }

    @Test
    void aPlanWithoutAddEntriesGivesAddsTheDecisionOfTheSameProduct() {
        MeasuredGemm old = new MeasuredGemm(List.of(new Timed("a", 0), new Timed("b", 0)), 1);
        old.adopt(new GemmPlan("planned", Map.of("6x5x4 TN", "b")));
        assertEquals("b", old.decisions().get("6x5x4 TN +=").chosen().name(), "as before adds were decided apart");
        MeasuredGemm current = new MeasuredGemm(List.of(new Timed("a", 0), new Timed("b", 0)), 1);
        current.adopt(new GemmPlan("planned", Map.of("6x5x4 TN", "b", "6x5x4 TN +=", "a")));
        assertEquals("a", current.decisions().get("6x5x4 TN +=").chosen().name());
        assertEquals("b", current.decisions().get("6x5x4 TN").chosen().name());
    }

    @Test
    void badPlansAreRefusedWithTheFix(@TempDir Path dir) throws IOException {
        MeasuredGemm g = new MeasuredGemm(List.of(new Timed("a", 0)), 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> g.adopt(new GemmPlan("planned", Map.of("6x5x4 NT", "mkl"))));
        assertTrue(e.getMessage().contains("'mkl'") && e.getMessage().contains("[a]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MeasuredGemm.Key.parse("6x5 NT"));
        assertTrue(e.getMessage().contains("6x5 NT") && e.getMessage().contains("MxKxN"), e.getMessage());
        assertEquals(new MeasuredGemm.Key(6, 5, 4, true, false), MeasuredGemm.Key.parse("6x5x4 TN"));
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "[1, 2]");
        IOException io = assertThrows(IOException.class, () -> GemmPlan.read(bad));
        assertTrue(io.getMessage().contains("delete it"), io.getMessage());
    }

    @Test
    void plannedStrategyUsesTheConfiguredCache(@TempDir Path dir) {
        String previous = System.getProperty(GemmPlanCache.PROPERTY);
        System.setProperty(GemmPlanCache.PROPERTY, dir.resolve("p.json").toString());
        try {
            MeasuredGemm g = (MeasuredGemm) GemmBackend.parse("Planned").create();
            assertEquals("planned", g.name());
            assertEquals(dir.resolve("p.json").toAbsolutePath(), g.cache().file());
        } finally {
            if (previous == null) {
                System.clearProperty(GemmPlanCache.PROPERTY);
            } else {
                System.setProperty(GemmPlanCache.PROPERTY, previous);
            }
        }
    }
}
