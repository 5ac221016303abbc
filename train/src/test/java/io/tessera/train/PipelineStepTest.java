package io.tessera.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.Compute;
import io.tessera.core.Torch;
import io.tessera.models.HfTensor;
import io.tessera.models.TokenBatch;
import io.tessera.models.PipelinedModel;
import io.tessera.models.TransformerModel;
import io.tessera.models.config.Presets;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.gpt2.Gpt2LmHeadModel;
import io.tessera.optim.AdamW;
import io.tessera.optim.zero.DataParallelOptimizer;
import io.tessera.optim.zero.OptimizerFactory;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.launch.LocalCluster;
import io.tessera.parallel.pipeline.ScheduleKind;
import io.tessera.parallel.tensor.PartitionedTensors;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Pipeline-parallel training ({@link PipelineStep}) against one process ({@link GlobalBatchStep}) on the
 * same global batches: after a few AdamW steps (clipping on, dropout off) every parameter of every stage
 * equals the one-process model's within 1e-5 relative, for GPipe and 1F1B at PP = 2 and 4, interleaved
 * 1F1B at PP = 2 with V = 2, TP = 2 × PP = 2, and TP = 2 × PP = 2 × DP = 2 with ZeRO-1 (see {@link #adamw}). The tied word
 * embedding's copy on the last stage equals the reference after every run. Activations held at once
 * are measured per stage: at most p micro-batches for 1F1B, m for GPipe.
 */
class PipelineStepTest {

    private static final int STEPS = 3;
    private static final int MICRO = 2;
    private static final int SEQ = 16;
    private static final long SEED = 5;
    /** Whether {@link #train} turns sequence parallelism on (the test that sets it resets it). */
    private static volatile boolean sequenceParallel;
    private static TransformerConfig config;
    private static Map<String, float[]> reference;
    private static List<Double> referenceLosses;
    private static TransformerConfig bertConfig;
    private static Map<String, float[]> bertReference;
    private static List<Double> bertReferenceLosses;

    /** Four layers (any PP ≤ 4 and PP 2 × V 2 split them), dropout off; GPT-2 and BERT (post-LN). */
    @BeforeAll
    static void singleProcess() {
        config = Presets.get("gpt2-tiny").toBuilder().setNumLayers(4).optHiddenDropout(0).optAttentionDropout(0).build();
        List<Double> losses = new ArrayList<>();
        reference = train(config, ParallelContext.single(), 8, 0, ScheduleKind.GPIPE, 1, losses, null);
        referenceLosses = losses;
        bertConfig = Presets.get("bert-tiny").toBuilder().setNumLayers(4).optHiddenDropout(0).optAttentionDropout(0).build();
        List<Double> bertLosses = new ArrayList<>();
        bertReference = train(bertConfig, ParallelContext.single(), 8, 0, ScheduleKind.GPIPE, 1, bertLosses, null);
        bertReferenceLosses = bertLosses;
    }

    /**
     * AdamW with ε = 1e-3 instead of 1e-8: with ε far below the gradients' summation noise, Adam turns the
     * noise of near-zero gradients into full-size steps, so tensor- and data-parallel layouts (which sum in
     * another order) drift apart by 2–4e-5 relative in three steps at lr 1e-2 even without pipeline;
     * with ε = 1e-3 the update stays proportional to such gradients and every layout agrees within 1e-5.
     */
    static OptimizerFactory adamw() {
        return (range, norms, m) -> new AdamW(AdamW.Config.builder().weightDecay(0.1).eps(1e-3).build(), range, m);
    }

    /**
     * The step's global batch: {@code globalMicro} micro-batches of MICRO sequences, the same for every
     * layout. GPT-2: labels = ids. BERT: every fourth position masked-LM labelled, a padded tail in half
     * the sequences (attention mask 0, label -100), two segments, next-sentence labels.
     */
    static List<TokenBatch> globalBatch(TransformerConfig c, NDManager m, int step, int globalMicro) {
        Random r = new Random(1000 + step);
        boolean bert = c.architecture() == io.tessera.models.config.Architecture.BERT;
        List<TokenBatch> out = new ArrayList<>();
        for (int i = 0; i < globalMicro; i++) {
            int[] ids = new int[MICRO * SEQ];
            int[] labels = new int[MICRO * SEQ];
            int[] types = new int[MICRO * SEQ];
            int[] mask = new int[MICRO * SEQ];
            int[] nsp = new int[MICRO];
            for (int b = 0; b < MICRO; b++) {
                int length = b % 2 == 0 ? SEQ : SEQ - 5;
                nsp[b] = r.nextInt(2);
                for (int t = 0; t < SEQ; t++) {
                    int k = b * SEQ + t;
                    ids[k] = r.nextInt(c.vocabSize());
                    mask[k] = t < length ? 1 : 0;
                    types[k] = t >= SEQ / 2 ? 1 : 0;
                    labels[k] = !bert ? ids[k] : t < length && t % 4 == 1 ? r.nextInt(c.vocabSize()) : -100;
                }
            }
            out.add(bert ? TokenBatch.of(m, MICRO, SEQ, ids, types, mask, labels, nsp)
                    : TokenBatch.of(m, MICRO, SEQ, ids, null, null, labels, null));
        }
        return out;
    }

    /**
     * Trains STEPS steps on this rank's share of each global batch; returns the rank's parameters gathered
     * over its tensor group, by Hugging Face name.
     */
    static Map<String, float[]> train(TransformerConfig config, ParallelContext job, int globalMicro, int zero, ScheduleKind kind,
                                      int chunks, List<Double> losses, int[] peak) {
        ParallelContext ctx = (chunks > 1 ? job.withVirtualStages(chunks) : job).withSequenceParallel(sequenceParallel);
        try (NDManager m = NDManager.newBaseManager(); Torch.GradMode off = Torch.gradMode(false)) {
            boolean pipelined = ctx.pipelineSize() > 1;
            TransformerModel model = TransformerModel.of(config, ctx);
            try (DataParallelOptimizer dpo = DataParallelOptimizer.create(zero,
                    new DataParallelOptimizer.Spec(model, SEED, ctx, adamw(), 1 << 12, m))) {
                GlobalBatchStep single = pipelined ? null : new GlobalBatchStep(model, dpo, Compute.ofProcess(), SEED);
                PipelineStep pipe = pipelined
                        ? new PipelineStep((PipelinedModel) model, config.hiddenSize(), dpo, ctx, kind, Compute.ofProcess(), SEED) : null;
                int perRank = globalMicro / ctx.dataSize();
                for (int step = 0; step < STEPS; step++) {
                    try (NDManager scope = m.newSubManager()) {
                        List<TokenBatch> mine = globalBatch(config, scope, step, globalMicro)
                                .subList(ctx.dataRank() * perRank, (ctx.dataRank() + 1) * perRank);
                        GlobalBatchStep.Loss loss = pipelined ? pipe.run(step, mine, scope) : single.run(step, mine, scope);
                        if (losses != null) {
                            losses.add(loss.loss());
                        }
                        if (pipelined && peak != null) {
                            peak[0] = Math.max(peak[0], pipe.peakInFlight());
                        }
                    }
                    dpo.step(1e-2, 0.5);
                }
                Map<String, float[]> out = new HashMap<>();
                for (HfTensor t : model.hfTensors()) {
                    NDArray full = PartitionedTensors.gather(ctx.tensor(), m, t.parameter().data(), t.parameter().partition());
                    out.put(t.name() + (model instanceof PipelinedModel g && g.stageCopies().contains(t.parameter()) ? "#copy" : ""),
                            t.layout().toHf(full).toFloatArray());
                }
                return out;
            }
        }
    }

    private record Run(Map<String, float[]> parameters, List<Double> losses, int[] peak) {}

    private static List<Run> pipelined(int tp, int pp, int dp, int zero, ScheduleKind kind, int chunks, int globalMicro) {
        return pipelined(config, tp, pp, dp, zero, kind, chunks, globalMicro);
    }

    private static List<Run> pipelined(TransformerConfig config, int tp, int pp, int dp, int zero, ScheduleKind kind, int chunks,
                                       int globalMicro) {
        ParallelLayout layout = new ParallelLayout(tp * pp * dp, tp, pp, dp);
        return LocalCluster.run(layout, Duration.ofSeconds(120), ctx -> {
            List<Double> losses = new ArrayList<>();
            int[] peak = new int[1];
            Map<String, float[]> p = train(config, ctx, globalMicro, zero, kind, chunks, losses, peak);
            return new Run(p, losses, peak);
        });
    }

    /** Every rank's tensors against the reference; every reference tensor held by some rank; losses equal. */
    private static void assertMatchesSingleProcess(List<Run> runs) {
        assertMatches(runs, reference, referenceLosses, 1e-5);
    }

    private static void assertMatches(List<Run> runs, Map<String, float[]> reference, List<Double> referenceLosses, double tolerance) {
        assertMatches(runs, reference, referenceLosses, tolerance, true);
    }

    private static void assertMatches(List<Run> runs, Map<String, float[]> reference, List<Double> referenceLosses, double tolerance,
                                      boolean complete) {
        Map<String, Boolean> seen = new HashMap<>();
        for (Run run : runs) {
            for (Map.Entry<String, float[]> e : run.parameters().entrySet()) {
                String name = reference.containsKey(e.getKey()) ? e.getKey() : e.getKey().replace("#copy", "");
                float[] ref = reference.get(name);
                assertTrue(ref != null, "a stage holds " + name + ", which the whole model does not");
                boolean fusedQkvBias = name.endsWith(".attn.c_attn.bias");
                boolean keyBias = name.endsWith("attention.self.key.bias");
                int c = config.hiddenSize();
                double diff = 0;
                double keyDiff = 0;
                double scale = 1e-12;
                for (int i = 0; i < ref.length; i++) {
                    double d = Math.abs(e.getValue()[i] - ref[i]);
                    if (keyBias || fusedQkvBias && i >= c && i < 2 * c) {
                        keyDiff = Math.max(keyDiff, d); // the key bias: its exact gradient is 0, so only summation noise moves it
                        continue;
                    }
                    diff = Math.max(diff, d);
                    scale = Math.max(scale, Math.abs(ref[i]));
                }
                assertTrue(diff / scale <= tolerance, e.getKey() + " differs from the reference run by " + diff / scale + " relative");
                assertTrue(keyDiff <= 1e-3, e.getKey() + ": the key bias differs by " + keyDiff + " (absolute)");
                seen.put(name, true);
            }
            for (int s = 0; s < STEPS; s++) {
                assertEquals(referenceLosses.get(s), run.losses().get(s), 1e-5 * Math.abs(referenceLosses.get(s)),
                        "step " + (s + 1) + " loss");
            }
        }
        if (complete) {
            assertEquals(reference.keySet(), seen.keySet(), "the stages together hold exactly the whole model's tensors");
        }
    }

    @Test
    void gpipeAndOneFOneBAtTwoStagesEqualOneProcess() {
        for (ScheduleKind kind : List.of(ScheduleKind.GPIPE, ScheduleKind.ONE_F_ONE_B)) {
            List<Run> runs = pipelined(1, 2, 1, 0, kind, 1, 8);
            assertMatchesSingleProcess(runs);
            float[] copy = runs.get(1).parameters().get("transformer.wte.weight#copy");
            assertTrue(copy != null, "the last stage holds the tied copy");
            assertTrue(java.util.Arrays.equals(runs.get(0).parameters().get("transformer.wte.weight"), copy),
                    "the tied copy on the last stage has the first stage's bits after every step");
            int expected = kind == ScheduleKind.GPIPE ? 8 : 2;
            assertEquals(expected, runs.get(0).peak()[0], kind + ": micro-batches held at once by stage 0");
        }
    }

    @Test
    void fourStagesEqualOneProcessAndOneFOneBHoldsAtMostP() {
        for (ScheduleKind kind : List.of(ScheduleKind.GPIPE, ScheduleKind.ONE_F_ONE_B)) {
            List<Run> runs = pipelined(1, 4, 1, 0, kind, 1, 8);
            assertMatchesSingleProcess(runs);
            for (int s = 0; s < 4; s++) {
                int held = runs.get(s).peak()[0];
                if (kind == ScheduleKind.GPIPE) {
                    assertEquals(8, held, "GPipe stage " + s + " holds every micro-batch");
                } else {
                    assertEquals(4 - s, held, "1F1B stage " + s + " holds p − s micro-batches");
                }
            }
        }
    }

    @Test
    void interleavedTwoStagesTwoChunksEqualsOneProcess() {
        assertMatchesSingleProcess(pipelined(1, 2, 1, 0, ScheduleKind.INTERLEAVED, 2, 8));
    }

    /**
     * TP = 2 × PP = 2 and TP = 2 × PP = 2 × DP = 2 with ZeRO-1 against the same layout without pipeline and
     * against the one-process run, both within 1e-5.
     */
    @Test
    void tensorTimesPipelineEqualsTensorParallelAndOneProcess() {
        for (int dp : new int[] {1, 2}) {
            int zero = dp == 1 ? 0 : 1;
            List<Run> flat = pipelined(2, 1, dp, zero, ScheduleKind.ONE_F_ONE_B, 1, 8);
            List<Run> runs = pipelined(2, 2, dp, zero, ScheduleKind.ONE_F_ONE_B, 1, 8);
            assertMatches(runs, flat.get(0).parameters(), flat.get(0).losses(), 1e-5);
            assertMatches(runs, reference, referenceLosses, 1e-5);
        }
    }

    /**
     * ZeRO-2 with pipeline stages: every backward reduce-scatters its buckets (GPipe holds every micro-batch
     * open first, so the bucket counters must restart with each backward), and the tied word embedding's
     * gradient is held back whole and summed over the two stages before it enters their differently laid
     * out shards. PP 2 × DP 2, GPT-2 (GPipe, 1F1B) and BERT (1F1B), against one process.
     */
    @Test
    void zeroTwoWithPipelineStagesEqualsOneProcess() {
        for (ScheduleKind kind : List.of(ScheduleKind.GPIPE, ScheduleKind.ONE_F_ONE_B)) {
            List<Run> runs = pipelined(1, 2, 2, 2, kind, 1, 8);
            assertMatchesSingleProcess(runs);
            assertTrue(java.util.Arrays.equals(runs.get(0).parameters().get("transformer.wte.weight"),
                    runs.get(2).parameters().get("transformer.wte.weight#copy")), kind + ": tied copy equal under ZeRO-2");
        }
        assertMatches(pipelined(bertConfig, 1, 2, 2, 2, ScheduleKind.ONE_F_ONE_B, 1, 8), bertReference, bertReferenceLosses, 1e-5);
    }

    /** BERT (post-LN, padding, two segments, masked-LM and next-sentence losses), word embedding tied to the decoder. */
    @Test
    void bertStagesEqualOneProcess() {
        for (int pp : new int[] {2, 4}) {
            List<Run> runs = pipelined(bertConfig, 1, pp, 1, 0, ScheduleKind.ONE_F_ONE_B, 1, 8);
            assertMatches(runs, bertReference, bertReferenceLosses, 1e-5);
            assertTrue(java.util.Arrays.equals(runs.get(0).parameters().get("bert.embeddings.word_embeddings.weight"),
                    runs.get(pp - 1).parameters().get("bert.embeddings.word_embeddings.weight#copy")), "tied copy equal");
        }
        assertMatches(pipelined(bertConfig, 1, 2, 1, 0, ScheduleKind.INTERLEAVED, 2, 8), bertReference, bertReferenceLosses, 1e-5);
    }

    /**
     * Sequence parallelism on and off give the same parameters (≤ 1e-5) for GPT-2 and BERT, at TP = 2 and at
     * TP = 2 × PP = 2 (the hidden states sent between stages are then the rank's [B, T/2, C] slice).
     */
    @Test
    void sequenceParallelOnAndOffAgree() {
        for (TransformerConfig c : List.of(config, bertConfig)) {
            for (int pp : new int[] {1, 2}) {
                List<Run> off = pipelined(c, 2, pp, 1, 0, ScheduleKind.ONE_F_ONE_B, 1, 8);
                List<Run> on;
                sequenceParallel = true;
                try {
                    on = pipelined(c, 2, pp, 1, 0, ScheduleKind.ONE_F_ONE_B, 1, 8);
                } finally {
                    sequenceParallel = false;
                }
                for (int r = 0; r < on.size(); r++) {
                    assertMatches(List.of(on.get(r)), off.get(r).parameters(), off.get(r).losses(), 1e-5, false);
                }
            }
        }
    }

    @Test
    void refusals() {
        ParallelLayout layout = new ParallelLayout(2, 1, 2, 1);
        List<List<String>> messages = LocalCluster.<List<String>>run(layout, Duration.ofSeconds(60), ctx -> {
            List<String> out = new ArrayList<>();
            TransformerConfig three = config.toBuilder().setNumLayers(3).build();
            out.add(assertThrows(IllegalArgumentException.class, () -> new Gpt2LmHeadModel(three, ctx, false)).getMessage());
            try (NDManager m = NDManager.newBaseManager()) {
                Gpt2LmHeadModel model = new Gpt2LmHeadModel(config, ctx, false);
                out.add(assertThrows(IllegalArgumentException.class, () -> DataParallelOptimizer.create(3,
                        new DataParallelOptimizer.Spec(model, SEED, ctx, adamw(), 1 << 12, m))).getMessage());
            }
            return out;
        });
        assertTrue(messages.get(0).get(0).contains("3 layers do not split into --pp 2"), messages.get(0).get(0));
        assertTrue(messages.get(0).get(1).contains("--zero 3 with pipeline parallelism"), messages.get(0).get(1));
    }
}
