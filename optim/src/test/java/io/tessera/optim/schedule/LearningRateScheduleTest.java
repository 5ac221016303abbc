package io.tessera.optim.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Schedule values at the steps that define them: start, mid-warm-up, peak, mid-decay, end, past the end. */
class LearningRateScheduleTest {

    @Test
    void linearWarmupThenLinearDecayFromWarmupEnd() {
        LearningRateSchedule s = LearningRateSchedule.builder().peak(1e-3).warmupSteps(100).linearDecay(1100).build();
        assertEquals(0, s.lr(0));
        assertEquals(1e-5, s.lr(1), 1e-18);
        assertEquals(5e-4, s.lr(50), 1e-18);
        assertEquals(1e-3, s.lr(100), 1e-18);
        assertEquals(5e-4, s.lr(600), 1e-15);
        assertEquals(1e-4, s.lr(1000), 1e-15);
        assertEquals(0, s.lr(1100), 1e-18);
        assertEquals(0, s.lr(5000), 1e-18);
    }

    @Test
    void polynomialDecayWithEndValue() {
        LearningRateSchedule s = LearningRateSchedule.builder().peak(1.0).warmupSteps(0).polynomialDecay(100, 0.5)
                .end(0.1).build();
        assertEquals(1.0, s.lr(0), 1e-15);
        assertEquals(0.1 + 0.9 * Math.sqrt(0.75), s.lr(25), 1e-15);
        assertEquals(0.1 + 0.9 * Math.sqrt(0.5), s.lr(50), 1e-15);
        assertEquals(0.1, s.lr(100), 1e-15);
        assertEquals(0.1, s.lr(1000), 1e-15);
    }

    @Test
    void bertStyleDecayCountsFromTrainingStart() {
        LearningRateSchedule s = LearningRateSchedule.builder().peak(1e-4).warmupSteps(10).linearDecay(100)
                .decayOrigin(LearningRateSchedule.DecayOrigin.TRAINING_START).build();
        assertEquals(1e-4, s.lr(10), 1e-18);
        assertEquals(1e-4 * 0.89, s.lr(11), 1e-18);
        assertEquals(5e-5, s.lr(50), 1e-18);
        assertEquals(0, s.lr(100), 1e-18);
    }

    @Test
    void constantWithAndWithoutWarmup() {
        LearningRateSchedule c = LearningRateSchedule.constant(3e-4);
        assertEquals(3e-4, c.lr(0));
        assertEquals(3e-4, c.lr(1_000_000));
        LearningRateSchedule w = LearningRateSchedule.builder().peak(2e-4).warmupSteps(4).constant().build();
        assertEquals(5e-5, w.lr(1), 1e-18);
        assertEquals(2e-4, w.lr(4), 1e-18);
        assertEquals(2e-4, w.lr(400), 1e-18);
    }

    @Test
    void builderRejectsInvalidSettingsWithTheFieldAndRule() {
        IllegalArgumentException noPeak = assertThrows(IllegalArgumentException.class,
                () -> LearningRateSchedule.builder().linearDecay(10).build());
        assertTrue(noPeak.getMessage().contains("peak = NaN"), noPeak.getMessage());
        IllegalArgumentException shortRun = assertThrows(IllegalArgumentException.class,
                () -> LearningRateSchedule.builder().peak(1).warmupSteps(10).linearDecay(10).build());
        assertTrue(shortRun.getMessage().contains("totalSteps = 10") && shortRun.getMessage().contains("warmupSteps = 10"),
                shortRun.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.builder().peak(1).polynomialDecay(10, 0).build());
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.builder().peak(1).linearDecay(10).end(2).build());
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.builder().peak(1).end(0.5).build());
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.builder().peak(1).warmupSteps(-1).build());
        assertThrows(IllegalArgumentException.class, () -> LearningRateSchedule.constant(1).lr(-1));
    }
}
