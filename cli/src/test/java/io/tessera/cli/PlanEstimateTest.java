package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code tessera plan --estimate} prints the predicted step and refuses impossible layouts. */
class PlanEstimateTest {

    record Outcome(int code, String out, String err) {}

    static Outcome tessera(String... args) {
        CommandLine cl = Tessera.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Outcome(code, out.toString(), err.toString());
    }

    @Test
    void printsEveryFigure() {
        Outcome o = tessera("plan", "--estimate", "--model", "turing-nlg-17b", "--gpus", "256", "--tp", "4", "--zero", "1",
                "--gpu", "v100", "--achievable", "0.5", "--micro-batch", "4", "--global-batch", "512");
        assertEquals(0, o.code(), o.err());
        for (String f : new String[] {"v100: 125 TFLOP/s peak × 0.50", "tp 4 × pp 1 × dp 64, ZeRO 1", "global batch 512",
                "step time", "tokens/s", "TFLOP/s per GPU", "MFU", "weak scaling", "tp all-reduce", "dp gradients",
                "non-GEMM             0.0000 s", "no op costs: 0"}) {
            assertTrue(o.out().contains(f), "expected '" + f + "' in:\n" + o.out());
        }
    }

    @Test
    void explicitFiguresReplaceTheGpuOnes() {
        Outcome o = tessera("plan", "--estimate", "--model", "gpt2", "--gpus", "1", "--peak-tflops", "0.1",
                "--intra-node-gbps", "10", "--achievable", "1");
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("custom: 0.100 TFLOP/s peak × 1.00") && o.out().contains("intra 10.0 GB/s"), o.out());
        // MFU is 100% at achievable 1 on one device without communication
        assertTrue(o.out().contains("MFU              100.0%"), o.out());
    }

    @Test
    void publishedLayoutsOfTheLargestPresetsRun() {
        Outcome o = tessera("plan", "--estimate", "--model", "gpt3-175b", "--gpus", "1024", "--tp", "8", "--pp", "8",
                "--global-batch", "1536", "--recompute");
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("tp 8 × pp 8 × dp 16") && o.out().contains("seq 2048")
                && o.out().contains("174,615,846,912 parameters"), o.out());
        o = tessera("plan", "--estimate", "--model", "mt-nlg-530b", "--gpus", "3360", "--tp", "8", "--pp", "35",
                "--global-batch", "1920", "--recompute");
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("tp 8 × pp 35 × dp 12") && o.out().contains("160 micro-batches")
                && o.out().contains("529,600,819,200 parameters"), o.out());
    }

    @Test
    void aCpuHostTakesItsMeasuredFigures() {
        // softmax at 1 ns per score: 2 layers × 8·12·128² scores = 3,145,728 → 0.0031 s per micro-batch; dp 2
        Outcome o = tessera("plan", "--estimate", "--gpu", "cpu", "--model", "bert-base", "--layers", "2", "--gpus", "2",
                "--seq", "128", "--micro-batch", "8", "--precision", "FP32", "--peak-tflops", "0.1", "--intra-node-gbps", "1.5",
                "--op-cost", "softmax=1");
        assertEquals(0, o.code(), o.err());
        for (String f : new String[] {"cpu: 0.100 TFLOP/s peak × 1.00", "2 per node, intra 1.5 GB/s", "global batch 16, seq 128",
                "FP32 (4 bytes per element)", "2 layers", "op costs         --op-cost", "non-GEMM             0.0031 s",
                "by class       softmax 0.003 s", "optimizer            0.0000 s"}) {
            assertTrue(o.out().contains(f), "expected '" + f + "' in:\n" + o.out());
        }
        o = tessera("plan", "--estimate", "--gpu", "cpu", "--model", "bert-base", "--gpus", "2");
        assertEquals(1, o.code(), o.out());
        assertTrue(o.err().contains("--gpu cpu has no published figures") && o.err().contains("--ops-json FILE")
                && o.err().contains("bin/tessera bench ops --threads T --json FILE") && o.err().contains("benchmarks/estimate/run.sh")
                && o.err().contains("missing: --intra-node-gbps; --ops-json or --op-cost; --peak-tflops"), o.err());
        o = tessera("plan", "--estimate", "--gpu", "cpu", "--model", "bert-base", "--gpus", "2", "--intra-node-gbps", "1.5",
                "--peak-tflops", "0.1");
        assertEquals(1, o.code(), o.out());
        assertTrue(o.err().contains("(missing: --ops-json or --op-cost)"), o.err());
    }

    @Test
    void theOpsJsonGivesTheCostsAndTheGemmRateOfItsShape(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        java.nio.file.Path file = dir.resolve("ops.json");
        new io.tessera.benchmarks.ceiling.OpsReport(new io.tessera.benchmarks.ceiling.OpsReport.Shape("bert-base", 2, 8, 128,
                768, 12, 3072, 30592), 2, 1, 3, java.util.List.of(new io.tessera.benchmarks.ceiling.OpsReport.Op(
                io.tessera.optim.plan.estimate.OpClass.SOFTMAX, "[8, 12, 128, 128]", 1_572_864, 0, 0, 1.572_864e-3)),
                new io.tessera.benchmarks.ceiling.OpsReport.Gemm("planned", 50, java.util.List.of()), java.util.Map.of()).write(file);
        Outcome o = tessera("plan", "--estimate", "--gpu", "cpu", "--model", "bert-base", "--layers", "2", "--gpus", "1",
                "--seq", "128", "--micro-batch", "8", "--precision", "FP32", "--intra-node-gbps", "1.5", "--ops-json", file.toString());
        assertEquals(0, o.code(), o.err());
        for (String f : new String[] {"cpu: 0.0500 TFLOP/s peak", "GEMM rate 50.0 GFLOP/s: the layers' products on Tessera's"
                + " planned strategy", "non-GEMM             0.0031 s"}) {
            assertTrue(o.out().contains(f), "expected '" + f + "' in:\n" + o.out());
        }
        o = tessera("plan", "--estimate", "--gpu", "cpu", "--model", "bert-base", "--layers", "4", "--gpus", "1",
                "--seq", "128", "--micro-batch", "8", "--precision", "FP32", "--intra-node-gbps", "1.5", "--ops-json", file.toString());
        assertEquals(1, o.code(), o.out());
        assertTrue(o.err().contains("measured the GEMM rate for bert-base L2 b8 s128") && o.err().contains("L4 b8 s128")
                && o.err().contains("--peak-tflops"), o.err());
    }

    @Test
    void impossibleLayoutsAreRefused() {
        Outcome o = tessera("plan", "--estimate", "--model", "gpt2", "--gpus", "6", "--tp", "4");
        assertEquals(1, o.code(), o.out());
        assertTrue(o.err().contains("--gpus = 6") && o.err().contains("tp × pp = 4"), o.err());
        o = tessera("plan", "--estimate", "--model", "gpt2", "--gpus", "8", "--gpu", "k80");
        assertEquals(1, o.code(), o.out());
        assertTrue(o.err().contains("unknown gpu"), o.err());
    }
}
