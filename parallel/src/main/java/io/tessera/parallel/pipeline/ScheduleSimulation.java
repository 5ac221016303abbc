package io.tessera.parallel.pipeline;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Runs a {@link PipelineSchedule} on a clock instead of a model: every rank executes its actions in
 * order, an action starts when its rank is free and its inputs have arrived, and communication takes
 * no time. It checks that the schedule is executable (no rank waits forever), and measures what the
 * schedule promises: the step time, the bubble, and how many micro-batches' activations each rank
 * holds at once.
 *
 * <pre>
 *   F(i, vs) needs F(i, vs − 1)                       (the activation from the previous virtual stage)
 *   B(i, vs) needs B(i, vs + 1), or F(i, vs) on the last virtual stage, and F(i, vs) on this rank
 *   time of a chunk pass: forward tF / v, backward tB / v
 *   ideal step = m · (tF + tB)         bubble = step / ideal − 1
 * </pre>
 *
 * <p>Thread safety: stateless.
 */
public final class ScheduleSimulation {

    /**
     * What a simulated step measured.
     *
     * @param stepTime when the last rank finished its last action
     * @param idealTime {@code m · (tF + tB)}: the step without any idle time
     * @param peakInFlight per rank, the most micro-batch chunks whose forward had run and backward had not
     */
    public record Result(double stepTime, double idealTime, int[] peakInFlight) {
        /** @return the measured idle fraction of the ideal step, {@code stepTime / idealTime − 1} */
        public double bubbleFraction() {
            return stepTime / idealTime - 1;
        }
    }

    private ScheduleSimulation() {
    }

    /**
     * Simulates one step.
     *
     * @param schedule the schedule
     * @param forwardTime tF: one micro-batch's forward through a whole stage (all its chunks)
     * @param backwardTime tB: its backward
     * @return the measurements
     * @throws IllegalStateException if the schedule deadlocks or runs an action twice, naming the rank and action
     */
    public static Result run(PipelineSchedule schedule, double forwardTime, double backwardTime) {
        Objects.requireNonNull(schedule, "schedule");
        int p = schedule.stages();
        int v = schedule.chunks();
        int m = schedule.microBatches();
        double tf = forwardTime / v;
        double tb = backwardTime / v;
        Map<Long, Double> done = new HashMap<>(); // key(pass, micro, virtual stage) → finish time
        int[] next = new int[p];
        double[] free = new double[p];
        int[] inFlight = new int[p];
        int[] peak = new int[p];
        int remaining = 0;
        for (int s = 0; s < p; s++) {
            remaining += schedule.actions(s).size();
        }
        while (remaining > 0) {
            boolean progressed = false;
            for (int s = 0; s < p; s++) {
                List<PipelineAction> list = schedule.actions(s);
                while (next[s] < list.size()) {
                    PipelineAction a = list.get(next[s]);
                    int vs = a.virtualStage(s, p);
                    Double ready = readyTime(a, vs, p * v, done);
                    if (ready == null) {
                        break;
                    }
                    double start = Math.max(free[s], ready);
                    double end = start + (a.pass() == PipelineAction.Pass.FORWARD ? tf : tb);
                    if (done.put(key(a.pass(), a.microBatch(), vs), end) != null) {
                        throw new IllegalStateException("stage " + s + " runs " + a + " twice");
                    }
                    free[s] = end;
                    inFlight[s] += a.pass() == PipelineAction.Pass.FORWARD ? 1 : -1;
                    peak[s] = Math.max(peak[s], inFlight[s]);
                    next[s]++;
                    remaining--;
                    progressed = true;
                }
            }
            if (!progressed) {
                StringBuilder waiting = new StringBuilder();
                for (int s = 0; s < p; s++) {
                    if (next[s] < schedule.actions(s).size()) {
                        waiting.append(" stage ").append(s).append(" at ").append(schedule.actions(s).get(next[s]));
                    }
                }
                throw new IllegalStateException("the " + schedule.kind().flag() + " schedule deadlocks: every rank waits for"
                        + " an input that no rank will produce (" + waiting.toString().trim() + ")");
            }
        }
        double step = Arrays.stream(free).max().orElse(0);
        return new Result(step, m * (forwardTime + backwardTime), peak);
    }

    /** When an action's inputs are there, or null while they are not. */
    private static Double readyTime(PipelineAction a, int vs, int virtualStages, Map<Long, Double> done) {
        int i = a.microBatch();
        if (a.pass() == PipelineAction.Pass.FORWARD) {
            return vs == 0 ? Double.valueOf(0) : done.get(key(PipelineAction.Pass.FORWARD, i, vs - 1));
        }
        Double own = done.get(key(PipelineAction.Pass.FORWARD, i, vs));
        Double upstream = vs == virtualStages - 1 ? own : done.get(key(PipelineAction.Pass.BACKWARD, i, vs + 1));
        return own == null || upstream == null ? null : Math.max(own, upstream);
    }

    private static long key(PipelineAction.Pass pass, int micro, int virtualStage) {
        return ((long) pass.ordinal() << 62) | ((long) micro << 31) | virtualStage;
    }
}
