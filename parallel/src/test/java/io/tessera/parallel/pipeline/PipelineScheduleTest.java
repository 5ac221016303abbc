package io.tessera.parallel.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The schedules as plain action lists: their order, their bubble and activation memory, and their errors. */
class PipelineScheduleTest {

    @Test
    void oneFOneBPrintsMegatronsOrder() {
        PipelineSchedule s = PipelineSchedule.of(ScheduleKind.ONE_F_ONE_B, 4, 6, 1);
        assertEquals("""
                stage 0: F0 F1 F2 F3 B0 F4 B1 F5 B2 B3 B4 B5
                stage 1: F0 F1 F2 B0 F3 B1 F4 B2 F5 B3 B4 B5
                stage 2: F0 F1 B0 F2 B1 F3 B2 F4 B3 F5 B4 B5
                stage 3: F0 B0 F1 B1 F2 B2 F3 B3 F4 B4 F5 B5
                """, s.print());
        assertEquals("stage 0: F0 F1 F2 B0 B1 B2\nstage 1: F0 F1 F2 B0 B1 B2\n",
                PipelineSchedule.of(ScheduleKind.GPIPE, 2, 3, 1).print());
    }

    @ParameterizedTest
    @CsvSource({"GPIPE,2,4,1", "GPIPE,4,8,1", "ONE_F_ONE_B,2,4,1", "ONE_F_ONE_B,4,8,1", "ONE_F_ONE_B,4,4,1",
        "INTERLEAVED,2,4,2", "INTERLEAVED,4,8,2", "INTERLEAVED,2,6,3"})
    void everyRankRunsEachPassOnceAndTheBubbleIsTheFormulas(ScheduleKind kind, int p, int m, int v) {
        PipelineSchedule s = PipelineSchedule.of(kind, p, m, v);
        for (int stage = 0; stage < p; stage++) {
            List<PipelineAction> a = s.actions(stage);
            assertEquals(2 * m * v, a.size());
            Set<PipelineAction> distinct = new HashSet<>(a);
            assertEquals(a.size(), distinct.size(), "stage " + stage + " repeats a pass: " + a);
            for (PipelineAction x : a) {
                if (x.pass() == PipelineAction.Pass.BACKWARD) {
                    assertTrue(a.indexOf(PipelineAction.forward(x.microBatch(), x.chunk())) < a.indexOf(x), x + " before its forward");
                }
            }
        }
        // equal stage times; a backward costs twice a forward
        ScheduleSimulation.Result r = ScheduleSimulation.run(s, 1.0, 2.0);
        assertEquals(s.bubbleFraction(), r.bubbleFraction(), 1e-9, kind + " p=" + p + " m=" + m + " v=" + v + "\n" + s.print());
    }

    @Test
    void oneFOneBHoldsAtMostPMicroBatchesGPipeHoldsM() {
        int p = 4;
        int m = 8;
        int[] oneF = ScheduleSimulation.run(PipelineSchedule.of(ScheduleKind.ONE_F_ONE_B, p, m, 1), 1, 2).peakInFlight();
        int[] gpipe = ScheduleSimulation.run(PipelineSchedule.of(ScheduleKind.GPIPE, p, m, 1), 1, 2).peakInFlight();
        for (int s = 0; s < p; s++) {
            assertEquals(p - s, oneF[s], "1F1B stage " + s);
            assertEquals(m, gpipe[s], "GPipe stage " + s);
        }
    }

    @Test
    void badSchedulesAreRefusedWithTheRule() {
        String m = assertThrows(IllegalArgumentException.class, () -> PipelineSchedule.of(ScheduleKind.ONE_F_ONE_B, 4, 3, 1))
                .getMessage();
        assertTrue(m.contains("3 micro-batches per step are fewer than the 4 pipeline stages"), m);
        m = assertThrows(IllegalArgumentException.class, () -> PipelineSchedule.of(ScheduleKind.INTERLEAVED, 4, 6, 2)).getMessage();
        assertTrue(m.contains("6 micro-batches per step is not a multiple of --pp 4"), m);
        m = assertThrows(IllegalArgumentException.class, () -> PipelineSchedule.of(ScheduleKind.INTERLEAVED, 2, 4, 1)).getMessage();
        assertTrue(m.contains("needs --virtual-stages ≥ 2"), m);
        m = assertThrows(IllegalArgumentException.class, () -> PipelineSchedule.of(ScheduleKind.GPIPE, 2, 4, 2)).getMessage();
        assertTrue(m.contains("needs --schedule interleaved"), m);
        assertEquals(ScheduleKind.ONE_F_ONE_B, ScheduleKind.parse("1F1B"));
        assertThrows(IllegalArgumentException.class, () -> ScheduleKind.parse("pipedream"));
    }
}
