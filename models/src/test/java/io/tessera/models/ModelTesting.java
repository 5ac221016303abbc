package io.tessera.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.tessera.core.Rng;
import io.tessera.core.nn.Parameter;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.bert.BertForPreTraining;
import io.tessera.models.config.Presets;
import io.tessera.models.config.TransformerConfig;
import io.tessera.models.gpt2.Gpt2LmHeadModel;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.launch.LocalCluster;
import io.tessera.parallel.tensor.PartitionedTensors;
import io.tessera.parallel.tensor.TpTesting;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Tiny configurations, batches and per-degree runs shared by the model tests. */
final class ModelTesting {

    /** Vocabulary that 2 and 4 do not divide: padded to 1001, 1002 and 1004 at degrees 1, 2 and 4. */
    static final int VOCAB = 1001;
    static final int B = 2;
    static final int T = 8;
    static final long MODEL_SEED = 1234;

    private ModelTesting() {}

    /** The model kinds under test. */
    enum Kind {
        BERT, MEGATRON_BERT, GPT2, ROBERTA, DISTILBERT,
        /** Only for the task heads ({@link HeadTesting}); ALBERT's pre-training model has its own tests (AlbertTesting). */
        ALBERT;

        /** RoBERTa's padding id (its tiny preset's): the padded positions of {@link #batch} hold it. */
        static final int ROBERTA_PAD = 1;

        TransformerConfig config() {
            if (this == ALBERT) {
                return AlbertTesting.config();
            }
            String preset = switch (this) {
                case GPT2 -> "gpt2-tiny";
                case ROBERTA -> "roberta-tiny";
                case DISTILBERT -> "distilbert-tiny";
                default -> "bert-tiny";
            };
            TransformerConfig base = Presets.get(preset);
            TransformerConfig.Builder b = base.toBuilder().setVocabSize(VOCAB).optMakeVocabSizeDivisibleBy(1)
                    .optHiddenDropout(0).optAttentionDropout(0);
            if (this == MEGATRON_BERT) {
                b.optPreLayerNorm(true).optLayerNormEps(1e-5);
            }
            return b.build();
        }

        TransformerModel model(TransformerConfig config, ParallelContext pc) {
            return TransformerModel.of(config, pc);
        }

        /** Whether the kind is trained with masked-LM labels only (no token types, no next-sentence labels). */
        boolean maskedLmOnly() {
            return this == ROBERTA || this == DISTILBERT;
        }

        TokenBatch batch(NDManager m) {
            int[] ids = new int[B * T];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = (int) ((i * 7919L + 13) % VOCAB);
            }
            ids[3] = VOCAB - 1;
            int[] mask = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
            int[] labels = new int[B * T];
            if (this == GPT2) {
                for (int i = 0; i < labels.length; i++) {
                    labels[i] = mask[i] == 1 ? ids[i] : -100;
                }
                return TokenBatch.of(m, B, T, ids, null, mask, labels, null);
            }
            Arrays.fill(labels, -100);
            labels[1] = 0;
            labels[3] = VOCAB - 1;
            labels[6] = 517;
            labels[9] = 42;
            labels[11] = 999;
            if (maskedLmOnly()) {
                for (int i = 0; i < ids.length; i++) {
                    if (mask[i] == 0) {
                        ids[i] = this == ROBERTA ? ROBERTA_PAD : 0;
                    } else if (ids[i] == ROBERTA_PAD) {
                        ids[i] = 2;
                    }
                }
                return TokenBatch.of(m, B, T, ids, null, mask, labels, null);
            }
            int[] types = {0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1};
            return TokenBatch.of(m, B, T, ids, types, mask, labels, new int[] {0, 1});
        }
    }

    /**
     * Adds N(0, std²) drawn in Hugging Face layout, so that the perturbed model is the same at every
     * degree and biases and LayerNorm parameters are no longer trivial.
     */
    static void perturb(TransformerModel model, NDManager m, float std) {
        for (HfTensor t : model.hfTensors()) {
            Parameter p = t.parameter();
            NDArray hf = Rng.normal(m, t.layout().hfShape(p.fullShape()), 0f, std, Rng.hash(t.name()));
            NDArray full = t.layout().fromHf(hf, p.fullShape());
            p.data().addi(ParameterBuffer.localSlice(full, p.partition()));
        }
    }

    /** Loss, full unpadded logits and gathered gradients in Hugging Face layout, of one rank. */
    record Result(float loss, float[] logits, Map<String, float[]> grads) {}

    static Result step(TransformerModel model, ParallelContext pc, NDManager m, TokenBatch batch) {
        try (Tape tape = new Tape(m, 99, true)) {
            Var logits;
            Var loss;
            if (model instanceof Gpt2LmHeadModel g) {
                var out = g.forward(tape, batch);
                logits = out.logits();
                loss = out.loss();
            } else if (model instanceof MaskedLanguageModel mlm) {
                MaskedLmOutput out = mlm.forward(tape, batch);
                logits = out.logits();
                loss = out.loss();
            } else {
                var out = ((BertForPreTraining) model).forward(tape, batch);
                logits = out.mlmLogits();
                loss = out.loss();
            }
            float[] full = model.gatherVocabLogits(tape, "gather", logits).value().toFloatArray();
            tape.backward(loss);
            Map<String, float[]> grads = new LinkedHashMap<>();
            for (HfTensor t : model.hfTensors()) {
                Parameter p = t.parameter();
                grads.put(t.name(), t.layout().toHf(PartitionedTensors.gather(pc.tensor(), m, p.grad(), p.partition()))
                        .toFloatArray());
            }
            return new Result(loss.value().getFloat(), full, grads);
        }
    }

    /** Builds, perturbs and steps the model on every rank of one tensor-parallel group (in-process rings). */
    static List<Result> run(Kind kind, TransformerConfig config, int degree) {
        return run(kind, config, degree, LocalCluster.Backend.IN_PROCESS);
    }

    /** Builds, perturbs and steps the model on every rank of one tensor-parallel group over {@code backend}. */
    static List<Result> run(Kind kind, TransformerConfig config, int degree, LocalCluster.Backend backend) {
        return TpTesting.run(degree, backend, pc -> {
            TransformerModel model = kind.model(config, pc);
            try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(model, MODEL_SEED, m)) {
                perturb(model, m, 0.15f);
                return step(model, pc, m, kind.batch(m));
            }
        });
    }
}
