package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.bert.BertForPreTraining;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.distilbert.DistilBertForMaskedLM;
import io.tessera.models.gpt2.Gpt2LmHeadModel;
import io.tessera.models.roberta.RobertaForMaskedLM;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.tensor.TpTesting;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A model that does not split over the degree fails in its constructor, before any parameter memory
 * exists, with a message naming the numbers; bad batches fail before anything is recorded.
 */
class ModelMisconfigurationTest {

    @Test
    void headsNotDivisibleByTheDegreeFailBeforeAllocation() {
        TransformerConfig bert = Kind.BERT.config().toBuilder().setHiddenSize(48).setNumHeads(6).build();
        TransformerConfig gpt2 = Kind.GPT2.config().toBuilder().setHiddenSize(48).setNumHeads(6).build();
        List<String[]> messages = TpTesting.run(4, pc -> new String[] {
            message(() -> new BertForPreTraining(bert, pc)), message(() -> new Gpt2LmHeadModel(gpt2, pc))});
        for (String[] rank : messages) {
            for (String m : rank) {
                assertTrue(m.contains("numHeads = 6 is not divisible by tensorParallel = 4"), m);
                assertTrue(m.contains("[1, 2]"), "the message lists the degrees that work: " + m);
            }
        }
    }

    @Test
    void wrongFamilyIsRejected() {
        String m = message(() -> new Gpt2LmHeadModel(Kind.BERT.config(), ParallelContext.single()));
        assertTrue(m.contains("builds GPT2 models, got a BERT configuration"), m);
    }

    @Test
    void badBatchesNameTheField() {
        ParallelContext pc = ParallelContext.single();
        Gpt2LmHeadModel model = new Gpt2LmHeadModel(Kind.GPT2.config(), pc);
        int t = ModelTesting.T;
        try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(model, 1, m);
             Tape tape = new Tape(m, 1, false)) {
            int[] ids = new int[t];
            ids[2] = ModelTesting.VOCAB;
            String id = message(() -> model.forward(tape, TokenBatch.of(m, 1, t, ids, null, null, null, null)));
            assertTrue(id.contains("inputIds holds 1001, outside [0, 1001)"), id);
            int[] labels = new int[t];
            labels[1] = -5;
            String label = message(() -> model.forward(tape, TokenBatch.of(m, 1, t, new int[t], null, null, labels, null)));
            assertTrue(label.contains("labels holds -5"), label);
            int tooLong = Kind.GPT2.config().maxPositions() + 1;
            String len = message(() -> model.forward(tape, TokenBatch.of(m, 1, tooLong, new int[tooLong], null, null, null, null)));
            assertTrue(len.contains("sequence length 65 exceeds maxPositions = 64"), len);
        }
    }

    @Test
    void encodersRejectWhatTheyCannotTrainOn() {
        TransformerConfig distil = Kind.DISTILBERT.config().toBuilder().setHiddenSize(48).setNumHeads(6).build();
        for (String m : TpTesting.run(4, pc -> message(() -> new DistilBertForMaskedLM(distil, pc)))) {
            assertTrue(m.contains("numHeads = 6 is not divisible by tensorParallel = 4"), m);
        }
        ParallelContext pc = ParallelContext.single();
        String family = message(() -> new RobertaForMaskedLM(Kind.BERT.config(), pc));
        assertTrue(family.contains("builds ROBERTA models, got a BERT configuration"), family);
        RobertaForMaskedLM model = new RobertaForMaskedLM(Kind.ROBERTA.config(), pc);
        try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(model, 1, m);
             Tape tape = new Tape(m, 1, false)) {
            int t = ModelTesting.T;
            String nsp = message(() -> model.forward(tape, TokenBatch.of(m, 1, t, new int[t], null, null, null, new int[] {0})));
            assertTrue(nsp.contains("no next-sentence head") && nsp.contains("nextSentenceLabels"), nsp);
            int tooLong = 65; // roberta-tiny: 66 positions, padding id 1, so 64 tokens at most
            String len = message(() -> model.forward(tape, TokenBatch.of(m, 1, tooLong, new int[tooLong], null, null, null, null)));
            assertTrue(len.contains("sequence length 65 exceeds 64 = maxPositions 66 - padTokenId 1 - 1"), len);
            int[] types = new int[t];
            types[0] = 1;
            String type = message(() -> model.forward(tape, TokenBatch.of(m, 1, t, new int[t], types, null, null, null)));
            assertTrue(type.contains("tokenTypeIds holds 1, outside [0, 1)"), type);
        }
    }

    private static String message(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }
}
