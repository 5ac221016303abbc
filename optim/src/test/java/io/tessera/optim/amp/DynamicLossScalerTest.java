package io.tessera.optim.amp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.tessera.core.Torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The loss-scaling rule step by step, and the one-reduction non-finite check. */
class DynamicLossScalerTest {

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
    void defaultsAreDeepSpeeds() {
        DynamicLossScaler.Config c = DynamicLossScaler.Config.builder().build();
        assertEquals(65536, c.initialScale());
        assertEquals(1000, c.growthInterval());
        assertEquals(2, c.growthFactor());
        assertEquals(0.5, c.backoffFactor());
        assertEquals(1, c.minScale());
        assertEquals(65536, new DynamicLossScaler(c).scale());
    }

    @Test
    void overflowSkipsTheStepAndHalvesTheScale() {
        DynamicLossScaler s = new DynamicLossScaler(DynamicLossScaler.Config.builder().build());
        assertTrue(s.update(false));
        assertEquals(1, s.cleanSteps());
        assertFalse(s.update(true));
        assertEquals(32768, s.scale());
        assertEquals(0, s.cleanSteps());
        assertEquals(1, s.skippedSteps());
    }

    @Test
    void scaleGrowsAfterAWindowOfCleanSteps() {
        DynamicLossScaler s = new DynamicLossScaler(DynamicLossScaler.Config.builder().growthInterval(1000).build());
        for (int i = 0; i < 999; i++) {
            assertTrue(s.update(false));
        }
        assertEquals(65536, s.scale());
        assertTrue(s.update(false));
        assertEquals(131072, s.scale());
        assertEquals(0, s.cleanSteps());
        for (int i = 0; i < 500; i++) {
            s.update(false);
        }
        s.update(true);
        for (int i = 0; i < 999; i++) {
            s.update(false);
        }
        assertEquals(65536, s.scale(), "an overflow restarts the window");
        s.update(false);
        assertEquals(131072, s.scale());
    }

    @Test
    void scaleNeverDropsBelowTheMinimum() {
        DynamicLossScaler s = new DynamicLossScaler(DynamicLossScaler.Config.builder().initialScale(4).minScale(1).build());
        for (int i = 0; i < 5; i++) {
            assertFalse(s.update(true));
        }
        assertEquals(1, s.scale());
        assertEquals(5, s.skippedSteps());
    }

    @Test
    void detectsInfAndNanInOneReduction() {
        try (NDManager m = manager.newSubManager()) {
            assertFalse(DynamicLossScaler.hasNonFinite(m.create(new float[] {1, -2, 3e-8f})));
            assertTrue(DynamicLossScaler.hasNonFinite(m.create(new float[] {1, Float.POSITIVE_INFINITY, 3})));
            assertTrue(DynamicLossScaler.hasNonFinite(m.create(new float[] {1, Float.NEGATIVE_INFINITY, 3})));
            assertTrue(DynamicLossScaler.hasNonFinite(m.create(new float[] {Float.NaN, 2, 3})));
            NDArray big = m.full(new Shape(64), 60000f).toType(DataType.FLOAT16, false);
            assertFalse(DynamicLossScaler.hasNonFinite(big), "a large but finite fp16 sum is not an overflow");
            NDArray halfInf = m.create(new float[] {1, Float.POSITIVE_INFINITY}).toType(DataType.FLOAT16, false);
            assertTrue(DynamicLossScaler.hasNonFinite(halfInf));
        }
    }

    @Test
    void unscaleDividesByTheScale() {
        DynamicLossScaler s = new DynamicLossScaler(DynamicLossScaler.Config.builder().initialScale(1024).build());
        try (NDManager m = manager.newSubManager()) {
            NDArray g = m.create(new float[] {1024, -2048, 512});
            s.unscale(g);
            assertEquals(1f, g.toFloatArray()[0]);
            assertEquals(-2f, g.toFloatArray()[1]);
            assertEquals(0.5f, g.toFloatArray()[2]);
        }
    }

    @Test
    void rejectsBadConfig() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DynamicLossScaler.Config.builder().initialScale(0.5).build());
        assertTrue(e.getMessage().contains("initialScale = 0.5") && e.getMessage().contains("minScale"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> DynamicLossScaler.Config.builder().backoffFactor(1).build());
        assertThrows(IllegalArgumentException.class, () -> DynamicLossScaler.Config.builder().growthInterval(0).build());
    }
}
