package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code plan} reports activation memory and the bubble, and refuses pipeline layouts that cannot run before printing. */
class PlanActivationsTest {

    private static FinetuneCommandTest.Outcome plan(String... args) {
        picocli.CommandLine cl = Tessera.commandLine();
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        cl.setOut(new java.io.PrintWriter(out));
        cl.setErr(new java.io.PrintWriter(err));
        int code = cl.execute(args);
        return new FinetuneCommandTest.Outcome(code, out.toString(), err.toString());
    }

    @Test
    void printsActivationsAndTheBubble() {
        FinetuneCommandTest.Outcome o = plan("plan", "--model", "bert-large", "--gpus", "8", "--tp", "2", "--pp", "2",
                "--micro-batches", "8", "--seq", "512", "--sequence-parallel", "--recompute-activations", "selective");
        assertEquals(0, o.code(), o.out() + o.err());
        // s·b·h·34/t = 512·1·1024·34/2 = 8.91 MB per layer; 1F1B holds 12 layers × 2 micro-batches = 24
        assertTrue(o.out().contains("8.9 MB per layer and micro-batch × 24.0 held, selective recomputation, sequence parallel"), o.out());
        assertTrue(o.out().contains("bubble           0.1250 of the ideal step (1f1b, 8 micro-batches)"), o.out());
    }

    @Test
    void printsTheTesseraCpuAccountingForFp32() {
        FinetuneCommandTest.Outcome o = plan("plan", "--model", "bert-base", "--gpus", "1", "--seq", "512", "--precision", "FP32");
        assertEquals(0, o.code(), o.out() + o.err());
        // U = 4·512·768 B, r = 12·512/768 = 8: 8 + (12 + 4) + 4 (hidden dropout) + 8·(3 + 1 + 2) = 76 U = 119.5 MB, × 12 layers
        assertTrue(o.out().contains("on CPU, fp32         1.43 GB per rank (Tessera CPU fp32, measured accounting; 119.5 MB per"
                + " layer and micro-batch × 12.0 held, no recomputation, exact GELU, separate product nodes)"), o.out());
        o = plan("plan", "--model", "bert-base", "--gpus", "1", "--seq", "512");
        assertTrue(o.code() == 0 && !o.out().contains("on CPU"), o.out());
    }

    @Test
    void refusesBeforePrintingAnything() {
        FinetuneCommandTest.Outcome o = plan("plan", "--model", "bert-large", "--gpus", "8", "--tp", "2", "--pp", "5");
        assertEquals(1, o.code());
        assertTrue(o.err().contains("24 layers do not split over --pp 5"), o.err());
        assertEquals("", o.out());
        o = plan("plan", "--model", "bert-large", "--gpus", "8", "--pp", "4", "--micro-batches", "2");
        assertTrue(o.code() == 1 && o.err().contains("1f1b needs at least as many micro-batches as stages"), o.err());
        o = plan("plan", "--model", "bert-large", "--gpus", "8", "--sequence-parallel");
        assertTrue(o.code() == 1 && o.err().contains("--tp is 1"), o.err());
    }
}
