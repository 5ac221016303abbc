package io.tessera.parallel.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The order in which each pipeline rank runs the forward and backward passes of one optimizer step's
 * micro-batches: a plain list of {@link PipelineAction}s per rank, built without any model, so that it
 * can be printed, checked and simulated ({@link ScheduleSimulation}).
 *
 * <pre>
 *   p stages, m micro-batches, v chunks per rank (interleaved only); rank s = 0 … p−1
 *
 *   GPIPE        F0 F1 … F(m−1)  B0 B1 … B(m−1)
 *   1F1B         warm-up w = min(p − s − 1, m) forwards; then (F(w+i), B(i)) for i &lt; m − w; then the last w backwards
 *   INTERLEAVED  Megatron's order over m·v chunk passes: forward k runs micro-batch (k ÷ pv)·p + k mod p
 *                on chunk (k mod pv) ÷ p, backward k on chunk v − 1 − (k mod pv) ÷ p;
 *                warm-up w = min((p − s − 1)·2 + (v − 1)·p, m·v), then one forward and one backward, then cool-down
 *
 *   bubble (idle fraction of the ideal step): (p − 1)/m for GPIPE and 1F1B, (p − 1)/(v·m) interleaved
 * </pre>
 *
 * <p>Rules, checked in {@link #of}: 1F1B needs {@code m ≥ p} (otherwise it degenerates to GPipe with
 * its bubble: choose GPipe or more micro-batches); interleaving needs {@code v ≥ 2} and {@code m} a
 * multiple of {@code p}, as Megatron's implementation does.
 *
 * <p>Thread safety: immutable.
 */
public final class PipelineSchedule {

    private final ScheduleKind kind;
    private final int stages;
    private final int microBatches;
    private final int chunks;
    private final List<List<PipelineAction>> actions;

    private PipelineSchedule(ScheduleKind kind, int stages, int microBatches, int chunks) {
        this.kind = kind;
        this.stages = stages;
        this.microBatches = microBatches;
        this.chunks = chunks;
        List<List<PipelineAction>> all = new ArrayList<>();
        for (int s = 0; s < stages; s++) {
            all.add(List.copyOf(switch (kind) {
                case GPIPE -> gpipe(microBatches);
                case ONE_F_ONE_B -> oneFOneB(s, stages, microBatches);
                case INTERLEAVED -> interleaved(s, stages, microBatches, chunks);
            }));
        }
        this.actions = List.copyOf(all);
    }

    /**
     * Builds a schedule.
     *
     * @param kind the schedule
     * @param stages the pipeline degree p, at least 1
     * @param microBatches micro-batches per optimizer step m, at least 1
     * @param chunks model chunks per rank v: 1 unless interleaved
     * @return the schedule
     * @throws IllegalArgumentException naming the rule a value breaks and a fix
     */
    public static PipelineSchedule of(ScheduleKind kind, int stages, int microBatches, int chunks) {
        Objects.requireNonNull(kind, "kind");
        if (stages < 1 || microBatches < 1 || chunks < 1) {
            throw new IllegalArgumentException("pipeline schedule: --pp " + stages + ", " + microBatches + " micro-batches, "
                    + "--virtual-stages " + chunks + ": each must be at least 1");
        }
        if (kind == ScheduleKind.INTERLEAVED) {
            if (chunks < 2) {
                throw new IllegalArgumentException("--schedule interleaved needs --virtual-stages ≥ 2 (got " + chunks
                        + "); with one chunk per rank use --schedule 1f1b");
            }
            if (microBatches % stages != 0) {
                throw new IllegalArgumentException("--schedule interleaved: " + microBatches + " micro-batches per step is not a"
                        + " multiple of --pp " + stages + "; choose global batch / (micro-batch × dp) divisible by " + stages);
            }
        } else if (chunks != 1) {
            throw new IllegalArgumentException("--virtual-stages " + chunks + " needs --schedule interleaved (got " + kind.flag() + ")");
        }
        if (kind != ScheduleKind.GPIPE && microBatches < stages) {
            throw new IllegalArgumentException("--schedule " + kind.flag() + ": " + microBatches + " micro-batches per step are fewer"
                    + " than the " + stages + " pipeline stages, so the pipeline never fills; raise the global batch or lower"
                    + " --micro-batch so that global batch / (micro-batch × dp) ≥ " + stages + ", or use --schedule gpipe");
        }
        return new PipelineSchedule(kind, stages, microBatches, chunks);
    }

    /** @return the schedule kind */
    public ScheduleKind kind() {
        return kind;
    }

    /** @return the pipeline degree p */
    public int stages() {
        return stages;
    }

    /** @return micro-batches per step m */
    public int microBatches() {
        return microBatches;
    }

    /** @return model chunks per rank v */
    public int chunks() {
        return chunks;
    }

    /**
     * @param stage a pipeline rank
     * @return its actions, in order
     */
    public List<PipelineAction> actions(int stage) {
        return actions.get(Objects.checkIndex(stage, stages));
    }

    /** @return the idle fraction of the ideal step time by the formula: (p − 1)/m, or (p − 1)/(v·m) interleaved */
    public double bubbleFraction() {
        return (stages - 1) / ((double) chunks * microBatches);
    }

    /** @return one line per rank, e.g. {@code stage 0: F0 F1 B0 F2 B1 B2} */
    public String print() {
        StringBuilder b = new StringBuilder();
        for (int s = 0; s < stages; s++) {
            b.append("stage ").append(s).append(": ")
                    .append(actions.get(s).stream().map(PipelineAction::toString).collect(Collectors.joining(" "))).append('\n');
        }
        return b.toString();
    }

    private static List<PipelineAction> gpipe(int m) {
        List<PipelineAction> out = new ArrayList<>();
        for (int i = 0; i < m; i++) {
            out.add(PipelineAction.forward(i, 0));
        }
        for (int i = 0; i < m; i++) {
            out.add(PipelineAction.backward(i, 0));
        }
        return out;
    }

    private static List<PipelineAction> oneFOneB(int s, int p, int m) {
        int warmup = Math.min(p - s - 1, m);
        List<PipelineAction> out = new ArrayList<>();
        for (int i = 0; i < warmup; i++) {
            out.add(PipelineAction.forward(i, 0));
        }
        for (int i = 0; i < m - warmup; i++) {
            out.add(PipelineAction.forward(warmup + i, 0));
            out.add(PipelineAction.backward(i, 0));
        }
        for (int i = m - warmup; i < m; i++) {
            out.add(PipelineAction.backward(i, 0));
        }
        return out;
    }

    private static List<PipelineAction> interleaved(int s, int p, int m, int v) {
        int total = m * v;
        int warmup = Math.min((p - s - 1) * 2 + (v - 1) * p, total);
        List<PipelineAction> out = new ArrayList<>();
        for (int k = 0; k < warmup; k++) {
            out.add(interleavedPass(k, true, p, v));
        }
        for (int i = 0; i < total - warmup; i++) {
            out.add(interleavedPass(warmup + i, true, p, v));
            out.add(interleavedPass(i, false, p, v));
        }
        for (int k = total - warmup; k < total; k++) {
            out.add(interleavedPass(k, false, p, v));
        }
        return out;
    }

    /** Megatron's mapping of the k-th forward or backward chunk pass of a rank to (micro-batch, chunk). */
    private static PipelineAction interleavedPass(int k, boolean forward, int p, int v) {
        int inGroup = k % (p * v);
        int chunk = inGroup / p;
        int micro = (k / (p * v)) * p + k % p;
        return forward ? PipelineAction.forward(micro, chunk) : PipelineAction.backward(micro, v - 1 - chunk);
    }
}
