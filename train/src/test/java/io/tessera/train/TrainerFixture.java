package io.tessera.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.gemm.GemmBackend;
import io.tessera.core.gemm.GemmPlanCache;
import io.tessera.core.gemm.Gemms;
import io.tessera.core.io.Safetensors;
import io.tessera.train.data.WikiText2;
import io.tessera.models.config.Presets;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.launch.LocalCluster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Small, fast runs on the shipped corpus for trainer tests. */
final class TrainerFixture {

    /** The machine plan cache the build gives the tests (surefire sets it), restored by {@link #defaultGemm()}. */
    private static final String BUILD_PLAN_CACHE = System.getProperty(GemmPlanCache.PROPERTY);

    private TrainerFixture() {}

    /**
     * Replaces the process's GEMM strategy by a new default ({@code planned}) one whose machine cache is
     * {@code cache}: what a new process on a machine with that cache starts with.
     */
    static void freshDefaultGemm(Path cache) {
        System.setProperty(GemmPlanCache.PROPERTY, cache.toString());
        Gemms.use(GemmBackend.PLANNED);
    }

    /** Puts back the default strategy with the build's cache. */
    static void defaultGemm() {
        if (BUILD_PLAN_CACHE == null) {
            System.clearProperty(GemmPlanCache.PROPERTY);
        } else {
            System.setProperty(GemmPlanCache.PROPERTY, BUILD_PLAN_CACHE);
        }
        Gemms.use(GemmBackend.PLANNED);
    }

    static Path dataDir() {
        return WikiText2.find(Path.of("").toAbsolutePath()).orElseThrow(() -> new IllegalStateException(
                "data/wikitext-2 not found above " + Path.of("").toAbsolutePath()));
    }

    static TrainConfig.Builder tinyBert(Path out) {
        return TrainConfig.builder().setModel(Presets.get("bert-tiny"), "bert-tiny").setDataDir(dataDir()).setOut(out)
                .optVocabSize(600).optSeqLength(32).optSteps(4).optGlobalBatch(8).optMicroBatch(2).optDropout(0.0)
                .optLr(5e-3).optWarmupSteps(1).optEvalBatches(1).optProgress(false);
    }

    static List<Trainer.Result> run(TrainConfig cfg) {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        return LocalCluster.run(ParallelLayout.of(cfg.world(), cfg.tensorParallel(), cfg.pipelineParallel()), Duration.ofSeconds(300), ctx -> {
            try {
                return new Trainer(cfg, ctx, ctx.rank() == 0 ? System.out : quiet).run();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    /**
     * The largest per-tensor relative difference {@code max|a−b| / max|b|} between two exported models.
     *
     * <p>Attention key biases are reported apart: their gradient is zero in exact arithmetic (softmax
     * is invariant to adding {@code q·b_k} to every score of a row), so what they receive is summation
     * noise of ~1e-10, which Adam turns into updates of ~lr·|g|/ε whose sign depends on the summation
     * order of the layout. For them the absolute difference must stay below {@code keyBiasAbsolute}.
     */
    static double maxRelativeDifference(Path modelA, Path modelB, double keyBiasAbsolute) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> a = Safetensors.load(modelA.resolve("model.safetensors"), m);
            Map<String, NDArray> b = Safetensors.load(modelB.resolve("model.safetensors"), m);
            if (!a.keySet().equals(b.keySet())) {
                throw new AssertionError("tensor names differ: " + a.keySet() + " vs " + b.keySet());
            }
            double worst = 0;
            for (String k : a.keySet()) {
                NDArray x = a.get(k);
                NDArray y = b.get(k);
                double diff = x.sub(y).abs().max().getFloat();
                if (k.endsWith("attention.self.key.bias") || k.endsWith("attention.k_lin.bias")) {
                    if (diff > keyBiasAbsolute) {
                        throw new AssertionError(k + " differs by " + diff + " (absolute), more than summation noise allows");
                    }
                    continue;
                }
                double scale = Math.max(y.abs().max().getFloat(), 1e-12f);
                if (diff / scale > 1e-4) {
                    System.out.printf("  %s %s differs by %.3e relative%n", k, x.getShape(), diff / scale);
                }
                worst = Math.max(worst, diff / scale);
            }
            return worst;
        }
    }
}
