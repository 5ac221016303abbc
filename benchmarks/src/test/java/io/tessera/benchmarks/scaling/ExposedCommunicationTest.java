package io.tessera.benchmarks.scaling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import io.tessera.benchmarks.report.CsvReport;
import io.tessera.benchmarks.report.JsonReport;
import io.tessera.benchmarks.report.Report;
import io.tessera.benchmarks.report.ResultRow;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The exposed-communication fraction: its arithmetic, where it is measured, the options and the report rows. */
class ExposedCommunicationTest {

    private static ResultRow row(String system, int dp, double seconds) {
        return ResultRow.measured(system, "weak", "m", ScalingEfficiencyTest.SHAPE, 1, dp, 1, seconds, null, "");
    }

    @Test
    void fractionOfTheStepNotHidden() {
        assertEquals(0.2, ExposedCommunication.of(1.0, 0.8), 1e-12);
        assertEquals(0.0, ExposedCommunication.of(0.5, 0.5));
        assertEquals(-0.25, ExposedCommunication.of(0.8, 1.0), 1e-12, "a slower no-op run is reported, not clamped");
        assertThrows(IllegalArgumentException.class, () -> ExposedCommunication.of(0, 1));
        assertThrows(IllegalArgumentException.class, () -> ExposedCommunication.of(1, Double.NaN));
        assertEquals("-0.250", ExposedCommunication.format(-0.25));
        assertEquals("", ExposedCommunication.format(Double.NaN));
    }

    @Test
    void baselinesAttachToTheRowOfTheSameSystemAndDegrees() {
        List<ResultRow> rows = ExposedCommunication.attach(
                List.of(row(ResultRow.TESSERA, 1, 1.0), row(ResultRow.TESSERA, 2, 1.0), row(ResultRow.PYTORCH, 2, 2.0)),
                List.of(row(ResultRow.PYTORCH, 2, 1.5), row(ResultRow.TESSERA, 2, 0.96)));
        assertTrue(Double.isNaN(rows.get(0).exposedComm()), "dp = 1 has no baseline");
        assertEquals(0.04, rows.get(1).exposedComm(), 1e-12);
        assertEquals(0.96, rows.get(1).stepSecondsNoReduction());
        assertEquals(0.25, rows.get(2).exposedComm(), 1e-12);
        Report r = new Report("scaling", Map.of(), null, rows, List.of());
        assertTrue(ScalingBenchmark.goals(r).get(0).startsWith("goal exposed comm at DP=2 <= 0.05 and below PyTorch DDP's:"
                + " tessera 0.040 vs pytorch 0.250 (met)"), ScalingBenchmark.goals(r).toString());
        JsonObject json = JsonReport.row(rows.get(1));
        assertEquals(0.04, json.get("exposed_comm").getAsDouble(), 1e-12);
        assertTrue(JsonReport.row(rows.get(0)).get("exposed_comm").isJsonNull());
        assertTrue(CsvReport.ROW_COLUMNS.contains("exposed_comm") && CsvReport.ROW_COLUMNS.contains("step_s_no_reduction"));
        String csv = CsvReport.rows(rows);
        assertTrue(csv.lines().skip(2).findFirst().orElseThrow().contains(",0.96,"), csv);
    }

    @Test
    void goalNeedsBothTheBoundAndTheComparison() {
        assertTrue(ScalingBenchmark.exposedGoalMet(0.05, 0.2));
        assertFalse(ScalingBenchmark.exposedGoalMet(0.06, 0.2));
        assertFalse(ScalingBenchmark.exposedGoalMet(0.01, 0.01));
    }

    @Test
    void onlyDataParallelPointsRunWithoutReductionUnlessSkipped() {
        ScalingOptions o = ScalingOptions.parse(new String[] {"--model", "bert-tiny", "--seq", "32"});
        assertTrue(o.exposed());
        assertTrue(ScalingBenchmark.exposedPoint(o, new ScalingBenchmark.Point("weak", 2, 1)));
        assertFalse(ScalingBenchmark.exposedPoint(o, new ScalingBenchmark.Point("weak", 1, 1)));
        assertFalse(ScalingBenchmark.exposedPoint(o, new ScalingBenchmark.Point("weak", 2, 2)));
        ScalingOptions skip = ScalingOptions.parse(new String[] {"--model", "bert-tiny", "--no-exposed"});
        assertFalse(skip.exposed());
        assertFalse(ScalingBenchmark.exposedPoint(skip, new ScalingBenchmark.Point("weak", 4, 1)));
    }

    @Test
    void rankOptionsCarryTheNoReductionSwitch() {
        ScalingOptions o = ScalingOptions.parse(new String[] {"--model", "bert-tiny", "--seq", "32", "--layers", "1"});
        ScalingRank.Options real = new ScalingRank.Options(o.spec("weak", 2), 1, 1, 5, 1, Duration.ofSeconds(60));
        assertTrue(real.reduction());
        assertFalse(real.toArgs().contains("--no-reduction"));
        ScalingRank.Options off = real.withoutReduction();
        assertFalse(off.reduction());
        assertTrue(off.toArgs().contains("--no-reduction"));
        assertEquals(off, ScalingRank.Options.parse(off.toArgs().toArray(new String[0])));
        assertEquals(real, ScalingRank.Options.parse(real.toArgs().toArray(new String[0])));
        ScalingRank.Options both = real.interleaved();
        assertTrue(both.reduction() && both.interleave());
        assertTrue(both.toArgs().contains("--interleave"));
        assertEquals(both, ScalingRank.Options.parse(both.toArgs().toArray(new String[0])));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ScalingRank.Options.parse(new String[] {"--interleave", "--no-reduction"}));
        assertTrue(e.getMessage().contains("--interleave") && e.getMessage().contains("drop --no-reduction"), e.getMessage());
    }
}
