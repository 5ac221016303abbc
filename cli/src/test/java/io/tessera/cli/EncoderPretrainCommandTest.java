package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.cli.DefaultsTest.Outcome;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code pretrain --model roberta-tiny} trains on the masked-LM loss alone; {@code pretrain-gpt2} refuses an encoder. */
class EncoderPretrainCommandTest {

    @TempDir
    Path dir;

    @Test
    void pretrainTrainsRobertaOnMaskedLmAlone() throws Exception {
        Path out = dir.resolve("roberta");
        Outcome o = DefaultsTest.tessera("pretrain", "--model", "roberta-tiny", "--steps", "2", "--warmup", "1",
                "--seq-length", "32", "--vocab-size", "600", "--global-batch", "8", "--micro-batch", "4",
                "--data", BadInputTest.data().toString(), "--out", out.toString());
        assertEquals(0, o.code(), o.err());
        String metrics = Files.readString(out.resolve("metrics.jsonl"));
        assertTrue(metrics.contains("\"step\":2") && metrics.contains("mlm"), metrics);
        assertFalse(metrics.contains("nsp"), "no next-sentence term: " + metrics);
        String config = Files.readString(out.resolve("model/config.json"));
        assertTrue(config.contains("\"model_type\": \"roberta\"") && config.contains("\"pad_token_id\": 0"), config);
    }

    @Test
    void pretrainGpt2RefusesAnEncoder() {
        Outcome o = DefaultsTest.tessera("pretrain-gpt2", "--model", "distilbert-tiny", "--steps", "1",
                "--data", BadInputTest.data().toString(), "--out", dir.resolve("x").toString());
        assertNotEquals(0, o.code());
        assertTrue(o.err().contains("is a DISTILBERT model") && o.err().contains("use pretrain for BERT, RoBERTa, DistilBERT and ALBERT"),
                o.err());
    }
}
