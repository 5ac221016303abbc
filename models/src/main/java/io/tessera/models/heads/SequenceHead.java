package io.tessera.models.heads;

import io.tessera.core.nn.Module;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.EncoderOutput;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.tensor.TensorParallelRng;

/**
 * A family's wiring from encoder output to sequence logits, {@code [B, T, C] (, [B, C]) → [B, K]},
 * with Hugging Face's names. Its children are registered at the root of the {@link SequenceClassifier}
 * ({@code classifier.*}, {@code pre_classifier.*}), as Hugging Face names them. Replicated: every rank
 * holds the whole head and computes the same logits from the replicated hidden states; no collectives.
 *
 * <p>A family adds a subclass and one case in {@link #of}.
 *
 * <p>Thread safety: not thread-safe; a head belongs to one rank's model.
 */
public abstract class SequenceHead extends Module {

    /**
     * The head of a configuration's family. Declares only.
     *
     * @param config the configuration, with a sequence-classification head
     * @param rng the model's dropout RNG tracker
     * @return the head
     */
    public static SequenceHead of(TransformerConfig config, TensorParallelRng rng) {
        switch (config.architecture()) {
            case ROBERTA:
                return new io.tessera.models.roberta.RobertaClassificationHead(config, rng);
            case DISTILBERT:
                return new io.tessera.models.distilbert.DistilBertSequenceHead(config, rng);
            case BERT:
                return new io.tessera.models.bert.BertSequenceHead(config, rng);
            case ALBERT:
                return new io.tessera.models.albert.AlbertSequenceHead(config, rng);
            default:
                throw new IllegalArgumentException(config.architecture() + " has no sequence-classification head");
        }
    }

    /**
     * Whether a family's head reads the pooler (Hugging Face's {@code add_pooling_layer} of its
     * sequence classifier), so that the encoder is built with one.
     *
     * @param config the configuration
     * @return true for BERT and ALBERT
     */
    public static boolean readsPooler(TransformerConfig config) {
        io.tessera.models.config.Architecture a = config.architecture();
        return a == io.tessera.models.config.Architecture.BERT || a == io.tessera.models.config.Architecture.ALBERT;
    }

    /**
     * Records the head.
     *
     * @param tape the step's tape
     * @param encoded the encoder's output
     * @return {@code [B, K]} logits, replicated
     */
    public abstract Var logits(Tape tape, EncoderOutput encoded);

    /**
     * Hugging Face's {@code classifier_dropout if not None else hidden_dropout_prob}; for ALBERT its
     * {@code classifier_dropout_prob}. The head's own {@code classifierDropout} wins where set.
     *
     * @param config the configuration
     * @return the probability
     */
    public static double classifierDropout(TransformerConfig config) {
        Double p = config.head().classifierDropout();
        if (p != null) {
            return p;
        }
        return config.albert() != null ? config.albert().classifierDropout() : config.hiddenDropout();
    }
}
