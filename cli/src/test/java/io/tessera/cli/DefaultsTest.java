package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.models.config.Presets;
import io.tessera.models.config.TransformerConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** What a new user's first commands do: the defaults run, and sizes are written as people write them. */
class DefaultsTest {

    @TempDir
    Path dir;

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
    void pretrainWithTwoStepsRunsOnOneProcessWithTheWarmUpCut() throws Exception {
        Path out = dir.resolve("run");
        Outcome o = tessera("pretrain", "--steps", "2", "--data", BadInputTest.data().toString(), "--out", out.toString());
        assertEquals(0, o.code(), o.err());
        assertTrue(o.err().contains("warning: --warmup 20 is not shorter than --steps 2; using warm-up 1"), o.err());
        assertEquals(1, o.err().lines().filter(l -> l.startsWith("warning:")).count(), "one warning line: " + o.err());
        String record = Files.readString(out.resolve("metrics.jsonl"));
        assertTrue(record.contains("\"step\":2"), record);
        for (String f : List.of("config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json")) {
            assertTrue(Files.isRegularFile(out.resolve("model").resolve(f)), f + " in the exported model");
        }
        assertEquals(Files.readAllLines(out.resolve("vocab.txt")), Files.readAllLines(out.resolve("model/vocab.txt")));
    }

    @Test
    void tensorParallelDefaultsToWhatTheRanksAndTheModelAllow() {
        TransformerConfig bertMini = Presets.get("bert-mini"); // 2 heads
        assertEquals(1, PretrainCommand.defaultTensorParallel(1, null, bertMini), "one process");
        assertEquals(2, PretrainCommand.defaultTensorParallel(2, null, bertMini), "--nproc 2, as the README shows");
        assertEquals(1, PretrainCommand.defaultTensorParallel(3, null, bertMini), "odd: data parallel 3");
        assertEquals(2, PretrainCommand.defaultTensorParallel(4, null, bertMini), "tp 2 × dp 2");
        assertEquals(1, PretrainCommand.defaultTensorParallel(4, 4, bertMini), "--dp 4 on 4 ranks");
        assertEquals(2, PretrainCommand.defaultTensorParallel(4, 2, bertMini), "--dp 2 on 4 ranks");
        TransformerConfig threeHeads = bertMini.toBuilder().setNumHeads(3).setHiddenSize(96).build();
        assertEquals(1, PretrainCommand.defaultTensorParallel(2, null, threeHeads), "3 heads do not split in two");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PretrainCommand.defaultTensorParallel(4, 3, bertMini));
        assertTrue(e.getMessage().contains("--dp 3 does not divide the 4 ranks"), e.getMessage());
    }

    @Test
    void initWithAVocabularyWritesItsTokenizer() throws Exception {
        Path vocab = Files.writeString(dir.resolve("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n##s\n");
        Path out = dir.resolve("init");
        Outcome o = tessera("init", "--model", "bert-tiny", "--vocab", vocab.toString(), "--out", out.toString());
        assertEquals(0, o.code(), o.err());
        assertEquals(Files.readAllLines(vocab), Files.readAllLines(out.resolve("vocab.txt")));
        assertTrue(Files.readString(out.resolve("config.json")).contains("\"vocab_size\": 7"), "the model takes the vocabulary's size");
        assertTrue(Files.readString(out.resolve("tokenizer_config.json")).contains("\"model_max_length\": 64"));
        assertTrue(Files.isRegularFile(out.resolve("special_tokens_map.json")));
        Path bare = dir.resolve("bare");
        assertEquals(0, tessera("init", "--model", "bert-tiny", "--out", bare.toString()).code());
        assertTrue(Files.notExists(bare.resolve("vocab.txt")), "no vocabulary given, no tokenizer files");
    }

    @Test
    void planTakesMemoryWithUnits() {
        Outcome gib = tessera("plan", "--model", "bert-large", "--gpus", "8", "--gpu-memory", "32GiB");
        Outcome bare = tessera("plan", "--model", "bert-large", "--gpus", "8", "--gpu-memory", "32");
        assertEquals(bare.out(), gib.out(), "32 and 32GiB are the same size");
        assertTrue(gib.out().contains(" of 32 GiB: "), gib.out());
        Outcome gb = tessera("plan", "--model", "bert-large", "--gpus", "8", "--gpu-memory", "32GB");
        assertTrue(gb.code() == 0 || gb.code() == 3, gb.err());
        assertTrue(gb.out().contains(" of 29.80 GiB (32GB): "), gb.out()); // 32e9 / 2^30
        Outcome g = tessera("plan", "--model", "bert-large", "--gpus", "8", "--gpu-memory", "80G");
        assertTrue(g.out().contains(" of 80 GiB: "), g.out());
    }

    @Test
    void planRefusesABadSizeNamingTheValueTheRuleAndAFix() {
        Outcome o = tessera("plan", "--model", "bert-large", "--gpus", "8", "--gpu-memory", "32XB");
        assertEquals(2, o.code(), "a usage error");
        for (String f : List.of("--gpu-memory", "'32XB'", "powers of 1024", "powers of 1000", "write e.g. 32GiB")) {
            assertTrue(o.err().contains(f), "expected '" + f + "' in: " + o.err());
        }
        assertEquals(2, tessera("plan", "--model", "bert-large", "--gpus", "8", "--gpu-memory", "-1").code());
    }
}
