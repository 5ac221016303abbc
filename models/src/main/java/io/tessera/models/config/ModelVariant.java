package io.tessera.models.config;

/**
 * Which Hugging Face model class a {@link ParameterCount} counts: the bare encoder/decoder or the
 * model with its pre-training heads.
 *
 * <table>
 *   <caption>Hugging Face class per variant</caption>
 *   <tr><th></th><th>BERT post-LN</th><th>BERT pre-LN</th><th>GPT-2</th></tr>
 *   <tr><td>{@link #BASE_MODEL}</td><td>{@code BertModel} (with pooler)</td>
 *       <td>{@code MegatronBertModel} (with pooler)</td><td>{@code GPT2Model}</td></tr>
 *   <tr><td>{@link #PRETRAINING_MODEL}</td><td>{@code BertForPreTraining}</td>
 *       <td>{@code MegatronBertForPreTraining}</td><td>{@code GPT2LMHeadModel}</td></tr>
 * </table>
 *
 * <p>RoBERTa: {@code RobertaModel} (with pooler) and {@code RobertaForMaskedLM} (no pooler);
 * DistilBERT: {@code DistilBertModel} and {@code DistilBertForMaskedLM} (no pooler in either).
 *
 * <p>Task heads ({@link HeadConfig}) are not variants: their class name comes from the configuration's
 * head ({@code BertForSequenceClassification}, …) and is written to {@code config.json} by
 * {@link HfConfigJson}.
 *
 * <p>Thread safety: immutable enum, safe to share.
 */
public enum ModelVariant {
    /** Embeddings, layers, final LayerNorm and (BERT) the pooler; no output heads. */
    BASE_MODEL,
    /** {@link #BASE_MODEL} plus the pre-training heads: masked LM and next-sentence (BERT), tied LM head (GPT-2). */
    PRETRAINING_MODEL;

    /**
     * The Hugging Face class name of this variant for a configuration, as written in
     * {@code config.json}'s {@code architectures}.
     *
     * @param config the model configuration
     * @return for example {@code "BertForPreTraining"} or {@code "GPT2LMHeadModel"}
     */
    public String hfClassName(TransformerConfig config) {
        if (config.architecture() == Architecture.ROBERTA || config.architecture() == Architecture.DISTILBERT) {
            String name = config.architecture() == Architecture.ROBERTA ? "Roberta" : "DistilBert";
            return name + (this == BASE_MODEL ? "Model" : "ForMaskedLM");
        }
        String family = config.architecture() == Architecture.GPT2 ? "GPT2"
                : config.architecture() == Architecture.ALBERT ? "Albert"
                : config.preLayerNorm() ? "MegatronBert" : "Bert";
        if (this == BASE_MODEL) {
            return family + "Model";
        }
        return config.architecture() == Architecture.GPT2 ? "GPT2LMHeadModel" : family + "ForPreTraining";
    }
}
