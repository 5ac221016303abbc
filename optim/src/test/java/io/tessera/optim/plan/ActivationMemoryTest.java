package io.tessera.optim.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.optim.plan.ActivationMemory.Recompute;
import io.tessera.parallel.pipeline.ScheduleKind;
import org.junit.jupiter.api.Test;

/** Korthikanti et al.'s activation formulas on hand-computed cases (GPT-3 175B's shape: s 2048, h 12288, a 96, t 8). */
class ActivationMemoryTest {

    private static ActivationMemory gpt3(int pp, int v, int m, ScheduleKind kind, boolean sp, Recompute r) {
        return new ActivationMemory(2048, 1, 12288, 96, 96, 8, pp, v, m, kind, sp, r);
    }

    @Test
    void perLayerBytesFollowTheTable() {
        double sbh = 2048.0 * 12288;                                       // 25,165,824
        // tp only: 10 + 24/8 + 5·96·2048/(12288·8) = 10 + 3 + 10 = 23
        assertEquals(23 * sbh, gpt3(1, 1, 1, ScheduleKind.ONE_F_ONE_B, false, Recompute.NONE).perLayerBytes(), 1e-3);
        // tp + sequence parallel: (34 + 5·96·2048/12288) / 8 = (34 + 80) / 8 = 14.25
        assertEquals(14.25 * sbh, gpt3(1, 1, 1, ScheduleKind.ONE_F_ONE_B, true, Recompute.NONE).perLayerBytes(), 1e-3);
        // selective: 10 + 3 = 13; with sequence parallelism 34 / 8 = 4.25
        assertEquals(13 * sbh, gpt3(1, 1, 1, ScheduleKind.ONE_F_ONE_B, false, Recompute.SELECTIVE).perLayerBytes(), 1e-3);
        assertEquals(4.25 * sbh, gpt3(1, 1, 1, ScheduleKind.ONE_F_ONE_B, true, Recompute.SELECTIVE).perLayerBytes(), 1e-3);
        // full: the input only, 2 bytes per element; split over t with sequence parallelism
        assertEquals(2 * sbh, gpt3(1, 1, 1, ScheduleKind.ONE_F_ONE_B, false, Recompute.FULL).perLayerBytes(), 1e-3);
        assertEquals(2 * sbh / 8, gpt3(1, 1, 1, ScheduleKind.ONE_F_ONE_B, true, Recompute.FULL).perLayerBytes(), 1e-3);
    }

    @Test
    void theFirstStageHoldsWhatItsScheduleKeepsInFlight() {
        // 1F1B: 96/8 = 12 layers × 8 micro-batches in flight = 96, whatever m ≥ p
        assertEquals(96, gpt3(8, 1, 64, ScheduleKind.ONE_F_ONE_B, true, Recompute.SELECTIVE).layersHeld(), 1e-9);
        // GPipe keeps all m: 12 × 64
        assertEquals(768, gpt3(8, 1, 64, ScheduleKind.GPIPE, true, Recompute.SELECTIVE).layersHeld(), 1e-9);
        // interleaved, v = 2: 96 · (1 + 7/16) = 138
        assertEquals(138, gpt3(8, 2, 64, ScheduleKind.INTERLEAVED, true, Recompute.SELECTIVE).layersHeld(), 1e-9);
        // GPT-3 on tp 8 × pp 8, sequence parallel + selective: 96 layers × 4.25·s·h bytes ≈ 10.27 GB per GPU
        ActivationMemory a = gpt3(8, 1, 64, ScheduleKind.ONE_F_ONE_B, true, Recompute.SELECTIVE);
        assertEquals(96 * 4.25 * 2048.0 * 12288, a.bytes(), 1e-3);
        assertTrue(a.describe().contains("10.27 GB per GPU"), a.describe());
    }

    @Test
    void refusesLayoutsThatCannotRun() {
        String m = assertThrows(IllegalArgumentException.class,
                () -> gpt3(5, 1, 64, ScheduleKind.ONE_F_ONE_B, false, Recompute.NONE)).getMessage();
        assertTrue(m.contains("96 layers do not split over --pp 5 × --virtual-stages 1"), m);
        m = assertThrows(IllegalArgumentException.class, () -> gpt3(8, 1, 4, ScheduleKind.ONE_F_ONE_B, false, Recompute.NONE)).getMessage();
        assertTrue(m.contains("1f1b needs at least as many micro-batches as stages: 4 micro-batches for --pp 8"), m);
        m = assertThrows(IllegalArgumentException.class,
                () -> new ActivationMemory(2048, 1, 12288, 96, 96, 1, 1, 1, 1, ScheduleKind.ONE_F_ONE_B, true, Recompute.NONE)).getMessage();
        assertTrue(m.contains("--sequence-parallel") && m.contains("--tp is 1"), m);
        assertEquals(Recompute.SELECTIVE, Recompute.parse("selective"));
        assertThrows(IllegalArgumentException.class, () -> Recompute.parse("some"));
        // GPipe may run fewer micro-batches than stages
        assertEquals(12 * 4, gpt3(8, 1, 4, ScheduleKind.GPIPE, false, Recompute.NONE).layersHeld(), 1e-9);
    }
}
