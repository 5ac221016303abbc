package io.tessera.benchmarks.step;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.benchmarks.report.Report;
import io.tessera.benchmarks.report.ResultRow;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Median and spread over complete runs, on synthetic reports (nothing is timed here). */
class RepeatsTest {

    private static ResultRow row(String system, double tokensPerSecond, double mfu) {
        return new ResultRow(system, "step", "bert-base/L2", 2, 768, 128, 8, 1, 1, 1, 2, 1024 / tokensPerSecond,
                tokensPerSecond, 0.1, mfu, Double.NaN, "", "cpu", "fp32", Double.NaN, Double.NaN);
    }

    private static Report run(double tesseraTokens, double mfu, double pytorchTokens) {
        List<ResultRow> rows = Double.isNaN(pytorchTokens) ? List.of(row(ResultRow.TESSERA, tesseraTokens, mfu))
                : List.of(row(ResultRow.TESSERA, tesseraTokens, mfu), row(ResultRow.PYTORCH, pytorchTokens, 0.4));
        return new Report("step", Map.of(), null, rows, List.of());
    }

    @Test
    void medianAndSpreadOfThreeRuns() {
        Report a = run(500, 0.50, 400);
        Report b = run(520, 0.58, 400);
        Report c = run(480, 0.54, 500);
        Repeats r = new Repeats(List.of(a, b, c));
        assertEquals(0.54, r.tesseraMfu().median(), 1e-12);
        assertEquals(0.08, r.tesseraMfu().spread(), 1e-12);
        assertEquals(0.04 / 0.54, r.tesseraMfu().relativeHalfSpread(), 1e-12);
        assertEquals(500, r.tesseraTokensPerSecond().median(), 1e-12);
        // ratios 1.25, 1.30, 0.96: median 1.25, range 0.96 .. 1.30
        assertEquals(1.25, r.throughputRatio().median(), 1e-12);
        assertEquals(0.96, r.throughputRatio().min(), 1e-12);
        assertEquals(1.30, r.throughputRatio().max(), 1e-12);
        assertSame(c, r.medianRun(), "the run with the middle MFU");
        assertTrue(r.lines().get(0).startsWith("tessera MFU: median 0.5400 over 3 runs (0.5000 .. 0.5800, ±7.4%)"),
                r.lines().get(0));
    }

    @Test
    void eachGoalIsJudgedOnItsOwnMedian() {
        // the median-MFU run (c) has ratio 0.96, but the median ratio is 1.25: the goal reads the median
        Repeats r = new Repeats(List.of(run(500, 0.50, 400), run(520, 0.58, 400), run(480, 0.54, 500)));
        assertEquals(List.of("goal tessera/pytorch tokens/s >= 1.2: 1.250 (median of 3 runs) (met)",
                "goal tessera MFU >= 55% of the measured ceiling: 54.0% (median of 3 runs) (not met)"),
                StepBenchmark.goals(r));
        assertEquals(List.of("goal tessera/pytorch tokens/s >= 1.2: 1.250 (met)",
                "goal tessera MFU >= 55% of the measured ceiling: 50.0% (not met)"),
                StepBenchmark.goals(run(500, 0.50, 400)));
    }

    @Test
    void evenCountsAverageTheMiddleAndRatiosNeedPyTorch() {
        Repeats r = new Repeats(List.of(run(500, 0.50, Double.NaN), run(600, 0.60, Double.NaN)));
        assertEquals(0.55, r.tesseraMfu().median(), 1e-12);
        assertTrue(Double.isNaN(r.throughputRatio().median()));
        assertEquals(2, r.lines().size(), "no ratio line without PyTorch rows");
        assertEquals(0.50, r.medianRun().rows().get(0).mfu(), "lower middle of two");
    }

    @Test
    void refusesNoRuns() {
        String m = assertThrows(IllegalArgumentException.class, () -> new Repeats(List.of())).getMessage();
        assertTrue(m.contains("--repeats must be at least 1"), m);
    }
}
