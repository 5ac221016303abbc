package io.tessera.models.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Keeps {@code models/PARAMETER_COUNTS.md} in step with {@link ParameterCount} and {@link Presets}. */
class ParameterCountsDocTest {

    /**
     * Tensor-parallel degrees of the "padded" column: the papers' for Megatron GPT-2, Turing-NLG, GPT-3 (as
     * Megatron-LM 2021 ran it) and MT-NLG.
     */
    private static final Map<String, Integer> PADDED_TP = Map.of("megatron-gpt2-8.3b", 8, "turing-nlg-17b", 4,
            "gpt3-175b", 8, "mt-nlg-530b", 8);

    /** Rows of the per-rank table. */
    private static final Map<String, Integer> PER_RANK_TP =
            Map.of("megatron-bert-3.9b", 4, "megatron-gpt2-8.3b", 8, "turing-nlg-17b", 4);

    private static String n(long v) {
        return String.format(Locale.ROOT, "%,d", v);
    }

    private static List<String> rows(String name) throws IOException {
        // Surefire runs in the module directory.
        List<String> lines = Files.readAllLines(Path.of("PARAMETER_COUNTS.md"));
        return lines.stream().filter(l -> l.startsWith("| `" + name + "` |")).collect(Collectors.toList());
    }

    private static void assertCells(String row, String... cells) {
        for (String cell : cells) {
            assertTrue(row.contains("| " + cell + " |"), () -> "expected cell \"" + cell + "\" in:\n" + row);
        }
    }

    @Test
    void presetTableMatchesTheCode() throws IOException {
        for (Preset p : Presets.all()) {
            List<String> rows = rows(p.name());
            assertTrue(rows.size() >= 1, "no row for " + p.name() + " in PARAMETER_COUNTS.md");
            String row = rows.get(0);
            TransformerConfig c = p.config();
            ParameterCount pre = ParameterCount.of(c, ModelVariant.PRETRAINING_MODEL);
            int tp = PADDED_TP.getOrDefault(p.name(), 1);
            ParameterCount padded = ParameterCount.ofPaddedVocab(c, ModelVariant.PRETRAINING_MODEL, tp);
            assertCells(row,
                    c.numLayers() + " / " + c.hiddenSize() + " / " + c.numHeads() + " / " + c.intermediateSize(),
                    String.valueOf(c.vocabSize()), String.valueOf(c.maxPositions()), c.preLayerNorm() ? "pre" : "post",
                    n(ParameterCount.of(c, ModelVariant.BASE_MODEL).total()), n(pre.total()),
                    n(padded.total()) + " (V=" + padded.vocabSize() + ", tp " + tp + ")");
            if (p.publishedParameters().isPresent()) {
                long published = p.publishedParameters().getAsLong();
                String diff = String.format(Locale.ROOT, "%+.2f%%", 100.0 * (pre.total() - published) / published);
                assertCells(row.replace('\u2212', '-'), diff);
            } else {
                assertCells(row, p.name().endsWith("-mini") ? "example only" : "test only");
            }
        }
    }

    @Test
    void perRankTableMatchesTheCode() throws IOException {
        for (Map.Entry<String, Integer> e : PER_RANK_TP.entrySet()) {
            List<String> rows = rows(e.getKey());
            assertEquals(2, rows.size(), "expected a preset row and a per-rank row for " + e.getKey());
            int tp = e.getValue();
            ParameterCount c = ParameterCount.ofPaddedVocab(Presets.get(e.getKey()), ModelVariant.PRETRAINING_MODEL, tp);
            long exact = c.perTensorParallelRank();
            String under = String.format(Locale.ROOT, "%.2f%%", 100.0 * (exact - c.total() / tp) / exact);
            assertCells(rows.get(1), String.valueOf(tp), n(c.total()), n(c.total() / tp),
                    n(c.replicatedAcrossTensorParallel()), n(exact), under);
        }
    }
}
