package io.tessera.models.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Named configurations with published shapes, looked up case-insensitively.
 *
 * <table>
 *   <caption>Presets (L layers, H hidden, A heads, I MLP, V vocabulary, P positions)</caption>
 *   <tr><th>name</th><th>L</th><th>H</th><th>A</th><th>I</th><th>V</th><th>P</th><th>LN</th><th>published</th></tr>
 *   <tr><td>bert-base</td><td>12</td><td>768</td><td>12</td><td>3072</td><td>30522</td><td>512</td><td>post</td><td>110M</td></tr>
 *   <tr><td>bert-large</td><td>24</td><td>1024</td><td>16</td><td>4096</td><td>30522</td><td>512</td><td>post</td><td>340M</td></tr>
 *   <tr><td>megatron-bert-336m</td><td>24</td><td>1024</td><td>16</td><td>4096</td><td>30522</td><td>512</td><td>pre</td><td>336M</td></tr>
 *   <tr><td>megatron-bert-1.3b</td><td>24</td><td>2048</td><td>32</td><td>8192</td><td>30522</td><td>512</td><td>pre</td><td>1.3B</td></tr>
 *   <tr><td>megatron-bert-3.9b</td><td>48</td><td>2560</td><td>40</td><td>10240</td><td>30522</td><td>512</td><td>pre</td><td>3.9B</td></tr>
 *   <tr><td>gpt2</td><td>12</td><td>768</td><td>12</td><td>3072</td><td>50257</td><td>1024</td><td>pre</td><td>117M</td></tr>
 *   <tr><td>gpt2-medium</td><td>24</td><td>1024</td><td>16</td><td>4096</td><td>50257</td><td>1024</td><td>pre</td><td>345M</td></tr>
 *   <tr><td>gpt2-large</td><td>36</td><td>1280</td><td>20</td><td>5120</td><td>50257</td><td>1024</td><td>pre</td><td>762M</td></tr>
 *   <tr><td>gpt2-xl</td><td>48</td><td>1600</td><td>25</td><td>6400</td><td>50257</td><td>1024</td><td>pre</td><td>1542M</td></tr>
 *   <tr><td>megatron-gpt2-8.3b</td><td>72</td><td>3072</td><td>32</td><td>12288</td><td>50257</td><td>1024</td><td>pre</td><td>8.3B</td></tr>
 *   <tr><td>turing-nlg-17b</td><td>78</td><td>4256</td><td>28</td><td>17024</td><td>50257</td><td>1024</td><td>pre</td><td>17B</td></tr>
 *   <tr><td>gpt3-175b</td><td>96</td><td>12288</td><td>96</td><td>49152</td><td>50257</td><td>2048</td><td>pre</td><td>175B</td></tr>
 *   <tr><td>mt-nlg-530b</td><td>105</td><td>20480</td><td>128</td><td>81920</td><td>50257</td><td>2048</td><td>pre</td><td>530B</td></tr>
 *   <tr><td>bert-tiny</td><td>2</td><td>32</td><td>4</td><td>64</td><td>1000</td><td>64</td><td>post</td><td>test</td></tr>
 *   <tr><td>gpt2-tiny</td><td>2</td><td>32</td><td>4</td><td>128</td><td>1000</td><td>64</td><td>pre</td><td>test</td></tr>
 *   <tr><td>bert-mini</td><td>2</td><td>128</td><td>2</td><td>512</td><td>4096</td><td>128</td><td>post</td><td>example</td></tr>
 *   <tr><td>gpt2-mini</td><td>2</td><td>128</td><td>2</td><td>512</td><td>4096</td><td>128</td><td>pre</td><td>example</td></tr>
 *   <tr><td>roberta-base</td><td>12</td><td>768</td><td>12</td><td>3072</td><td>50265</td><td>514</td><td>post</td><td>125M</td></tr>
 *   <tr><td>roberta-large</td><td>24</td><td>1024</td><td>16</td><td>4096</td><td>50265</td><td>514</td><td>post</td><td>355M</td></tr>
 *   <tr><td>distilbert-base-uncased</td><td>6</td><td>768</td><td>12</td><td>3072</td><td>30522</td><td>512</td><td>post</td><td>66M</td></tr>
 *   <tr><td>roberta-tiny</td><td>2</td><td>32</td><td>4</td><td>64</td><td>1000</td><td>66</td><td>post</td><td>test</td></tr>
 *   <tr><td>distilbert-tiny</td><td>2</td><td>32</td><td>4</td><td>64</td><td>1000</td><td>64</td><td>post</td><td>test</td></tr>
 *   <tr><td>albert-base-v2</td><td>12</td><td>768</td><td>12</td><td>3072</td><td>30000</td><td>512</td><td>post</td><td>12M</td></tr>
 *   <tr><td>albert-large-v2</td><td>24</td><td>1024</td><td>16</td><td>4096</td><td>30000</td><td>512</td><td>post</td><td>18M</td></tr>
 *   <tr><td>albert-xxlarge-v2</td><td>12</td><td>4096</td><td>64</td><td>16384</td><td>30000</td><td>512</td><td>post</td><td>235M</td></tr>
 *   <tr><td>albert-tiny</td><td>4</td><td>32</td><td>4</td><td>64</td><td>1000</td><td>64</td><td>post</td><td>test</td></tr>
 * </table>
 *
 * <p>RoBERTa's P counts {@code padTokenId + 1 = 2} positions no token uses (positions start after the
 * padding id): 514 positions hold 512 tokens, {@code roberta-tiny}'s 66 hold 64.
 *
 * <p>Sources (also in each {@link Preset#source()}):
 * <ul>
 *   <li>BERT: Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for Language
 *       Understanding" (arXiv:1810.04805), §3; vocabulary, positions and epsilon from Hugging Face's
 *       {@code bert-base-uncased} / {@code bert-large-uncased} {@code config.json}.
 *   <li>GPT-2: Radford et al., "Language Models are Unsupervised Multitask Learners" (2019), Table 2
 *       (layers, d_model, 117M/345M/762M/1542M); heads, vocabulary 50257 and context 1024 from the
 *       released {@code hparams.json} / Hugging Face {@code config.json}.
 *   <li>Megatron: Shoeybi et al., "Megatron-LM: Training Multi-Billion Parameter Language Models Using
 *       Model Parallelism" (arXiv:1909.08053): BERT 336M/1.3B/3.9B and GPT-2 8.3B shapes, BERT's
 *       30522-token WordPiece vocabulary, GPT-2's 50257 tokens padded to 51200; LayerNorm epsilon 1e-5
 *       and dropout 0.1 are Megatron-LM's argument defaults ({@code --layernorm-epsilon},
 *       {@code --hidden-dropout}, {@code --attention-dropout}).
 *   <li>Turing-NLG: Microsoft Research blog, "Turing-NLG: A 17-billion-parameter language model by
 *       Microsoft" (2020-02-10): 78 layers, hidden 4256, 28 heads. Vocabulary and positions are not
 *       stated there; GPT-2's 50257 tokens and 1024 positions are assumed (T-NLG was trained with
 *       Megatron-LM's GPT-2 code).
 *   <li>GPT-3 175B: Brown et al., "Language Models are Few-Shot Learners" (arXiv:2005.14165), Table 2.1:
 *       96 layers, d_model 12288, 96 heads, context 2048, GPT-2's tokenizer (V = 50257). GPT-3 alternates
 *       dense and locally banded sparse attention; the preset is all dense, as Megatron-LM's GPT-3 runs are.
 *   <li>MT-NLG 530B: Smith et al., "Using DeepSpeed and Megatron to Train Megatron-Turing NLG 530B"
 *       (arXiv:2201.11990): 105 layers, hidden 20480, 128 heads, sequence 2048, GPT-2's tokenizer.
 *       Only used by the step-time and memory estimates: nobody trains either on this library's CPUs.
 *   <li>RoBERTa: Liu et al., "RoBERTa: A Robustly Optimized BERT Pretraining Approach"
 *       (arXiv:1907.11692), and fairseq's released models (base 125M, large 355M); V = 50265, P = 514,
 *       one token type, epsilon 1e-5 and padding id 1 from Hugging Face's {@code roberta-base} /
 *       {@code roberta-large} {@code config.json}.
 *   <li>DistilBERT: Sanh et al., "DistilBERT, a distilled version of BERT" (arXiv:1910.01108), 66M
 *       parameters, 6 layers of BERT-base's width; V and P from Hugging Face's
 *       {@code distilbert-base-uncased} {@code config.json}.
 *   <li>ALBERT: Lan et al., "ALBERT: A Lite BERT for Self-supervised Learning of Language
 *       Representations" (arXiv:1909.11942), Table 1; embedding size 128, one group of one shared
 *       layer, vocabulary 30000, {@code gelu_new} and dropout 0 from Hugging Face's {@code albert-*-v2}
 *       {@code config.json}. {@code albert-tiny} has E = 16 and two groups, so that sharing and
 *       factorisation are both exercised.
 * </ul>
 *
 * <p>Megatron, Turing-NLG, GPT-3 and MT-NLG presets keep the unpadded vocabulary; {@link
 * TransformerConfig#paddedVocabSize(int)} gives the padded one for a tensor-parallel degree.
 *
 * <p>Thread safety: immutable, safe to share between threads.
 */
public final class Presets {

    private static final String BERT_SOURCE = "Devlin et al., BERT (arXiv:1810.04805), section 3; V, P and epsilon"
            + " from Hugging Face bert-base-uncased / bert-large-uncased config.json";
    private static final String GPT2_SOURCE = "Radford et al., Language Models are Unsupervised Multitask Learners"
            + " (2019), Table 2; heads, V = 50257 and P = 1024 from the released hparams.json / Hugging Face config.json";
    private static final String MEGATRON_SOURCE = "Shoeybi et al., Megatron-LM (arXiv:1909.08053); epsilon 1e-5 and"
            + " dropout 0.1 are Megatron-LM's argument defaults";
    private static final String TNLG_SOURCE = "Microsoft Research blog, Turing-NLG: A 17-billion-parameter language"
            + " model by Microsoft (2020-02-10): 78 layers, hidden 4256, 28 heads; V = 50257 and P = 1024 assumed"
            + " (GPT-2 tokenizer and context, as Megatron-LM's GPT-2)";
    private static final String GPT3_SOURCE = "Brown et al., Language Models are Few-Shot Learners (arXiv:2005.14165),"
            + " Table 2.1: 96 layers, d_model 12288, 96 heads, context 2048; GPT-2 tokenizer, V = 50257; all attention dense";
    private static final String MTNLG_SOURCE = "Smith et al., Using DeepSpeed and Megatron to Train Megatron-Turing NLG 530B"
            + " (arXiv:2201.11990): 105 layers, hidden 20480, 128 heads, sequence 2048; GPT-2 tokenizer, V = 50257";
    private static final String ALBERT_SOURCE = "Lan et al., ALBERT (arXiv:1909.11942), Table 1 (12M / 18M / 235M);"
            + " V = 30000, E = 128, P = 512, gelu_new and dropout 0 from Hugging Face albert-*-v2 config.json";
    private static final String TEST_SOURCE = "Tessera test configuration";
    private static final String ROBERTA_SOURCE = "Liu et al., RoBERTa (arXiv:1907.11692) and fairseq's released models"
            + " (125M, 355M); V = 50265, P = 514, type_vocab_size 1, epsilon 1e-5 and pad_token_id 1 from Hugging Face"
            + " roberta-base / roberta-large config.json";
    private static final String DISTILBERT_SOURCE = "Sanh et al., DistilBERT (arXiv:1910.01108): 66M parameters;"
            + " V and P from Hugging Face distilbert-base-uncased config.json";

    private static final Map<String, Preset> PRESETS = build();

    private Presets() {}

    private static Map<String, Preset> build() {
        Map<String, Preset> m = new LinkedHashMap<>();
        add(m, "bert-base", bert(30522, 768, 12, 12, 512).build(), 110_000_000L, BERT_SOURCE);
        add(m, "bert-large", bert(30522, 1024, 24, 16, 512).build(), 340_000_000L, BERT_SOURCE);
        add(m, "megatron-bert-336m", megatronBert(1024, 24, 16), 336_000_000L, MEGATRON_SOURCE);
        add(m, "megatron-bert-1.3b", megatronBert(2048, 24, 32), 1_300_000_000L, MEGATRON_SOURCE);
        add(m, "megatron-bert-3.9b", megatronBert(2560, 48, 40), 3_900_000_000L, MEGATRON_SOURCE);
        add(m, "gpt2", gpt2(50257, 768, 12, 12, 1024).build(), 117_000_000L, GPT2_SOURCE);
        add(m, "gpt2-medium", gpt2(50257, 1024, 24, 16, 1024).build(), 345_000_000L, GPT2_SOURCE);
        add(m, "gpt2-large", gpt2(50257, 1280, 36, 20, 1024).build(), 762_000_000L, GPT2_SOURCE);
        add(m, "gpt2-xl", gpt2(50257, 1600, 48, 25, 1024).build(), 1_542_000_000L, GPT2_SOURCE);
        add(m, "megatron-gpt2-8.3b", gpt2(50257, 3072, 72, 32, 1024).build(), 8_300_000_000L, MEGATRON_SOURCE);
        add(m, "turing-nlg-17b", gpt2(50257, 4256, 78, 28, 1024).build(), 17_000_000_000L, TNLG_SOURCE);
        add(m, "gpt3-175b", gpt2(50257, 12288, 96, 96, 2048).build(), 175_000_000_000L, GPT3_SOURCE);
        add(m, "mt-nlg-530b", gpt2(50257, 20480, 105, 128, 2048).build(), 530_000_000_000L, MTNLG_SOURCE);
        add(m, "bert-tiny", bert(1000, 32, 2, 4, 64).optIntermediateSize(64).build(), -1, TEST_SOURCE);
        add(m, "gpt2-tiny", gpt2(1000, 32, 2, 4, 64).build(), -1, TEST_SOURCE);
        add(m, "bert-mini", bert(4096, 128, 2, 2, 128).optIntermediateSize(512).build(), -1, EXAMPLE_SOURCE);
        add(m, "gpt2-mini", gpt2(4096, 128, 2, 2, 128).build(), -1, EXAMPLE_SOURCE);
        add(m, "roberta-base", encoder(Architecture.ROBERTA, 50265, 768, 12, 12, 514).build(), 125_000_000L, ROBERTA_SOURCE);
        add(m, "roberta-large", encoder(Architecture.ROBERTA, 50265, 1024, 24, 16, 514).build(), 355_000_000L,
                ROBERTA_SOURCE);
        add(m, "distilbert-base-uncased", encoder(Architecture.DISTILBERT, 30522, 768, 6, 12, 512).build(), 66_000_000L,
                DISTILBERT_SOURCE);
        add(m, "roberta-tiny", encoder(Architecture.ROBERTA, 1000, 32, 2, 4, 66).optIntermediateSize(64).build(), -1,
                TEST_SOURCE);
        add(m, "distilbert-tiny", encoder(Architecture.DISTILBERT, 1000, 32, 2, 4, 64).optIntermediateSize(64).build(), -1,
                TEST_SOURCE);
        add(m, "albert-base-v2", albert(768, 12, 12, 3072), 12_000_000L, ALBERT_SOURCE);
        add(m, "albert-large-v2", albert(1024, 24, 16, 4096), 18_000_000L, ALBERT_SOURCE);
        add(m, "albert-xxlarge-v2", albert(4096, 12, 64, 16384), 235_000_000L, ALBERT_SOURCE);
        add(m, "albert-tiny", TransformerConfig.builder(Architecture.ALBERT).setVocabSize(1000).setHiddenSize(32)
                .setNumLayers(4).setNumHeads(4).setMaxPositions(64).optIntermediateSize(64)
                .optAlbert(new AlbertShape(16, 2, 1, 0.1)).build(), -1, TEST_SOURCE);
        return Collections.unmodifiableMap(m);
    }

    /** Source note of the small presets that the example commands train on CPUs in minutes. */
    static final String EXAMPLE_SOURCE = "Tessera example size (the shape of Turc et al.'s BERT-mini, arXiv:1908.08962:"
            + " 2 layers, hidden 128, 2 heads, FFN 512); sized for CPU pretraining runs of a few minutes";

    private static void add(Map<String, Preset> m, String name, TransformerConfig c, long published, String source) {
        m.put(name, new Preset(name, c, published < 0 ? OptionalLong.empty() : OptionalLong.of(published), source));
    }

    private static TransformerConfig.Builder bert(int vocab, int hidden, int layers, int heads, int positions) {
        return TransformerConfig.builder(Architecture.BERT).setVocabSize(vocab).setHiddenSize(hidden)
                .setNumLayers(layers).setNumHeads(heads).setMaxPositions(positions);
    }

    private static TransformerConfig.Builder encoder(Architecture family, int vocab, int hidden, int layers, int heads,
                                                      int positions) {
        return TransformerConfig.builder(family).setVocabSize(vocab).setHiddenSize(hidden)
                .setNumLayers(layers).setNumHeads(heads).setMaxPositions(positions);
    }

    private static TransformerConfig albert(int hidden, int layers, int heads, int intermediate) {
        return TransformerConfig.builder(Architecture.ALBERT).setVocabSize(30000).setHiddenSize(hidden).setNumLayers(layers)
                .setNumHeads(heads).setMaxPositions(512).optIntermediateSize(intermediate).build();
    }

    private static TransformerConfig megatronBert(int hidden, int layers, int heads) {
        return bert(30522, hidden, layers, heads, 512).optPreLayerNorm(true).optLayerNormEps(1e-5).build();
    }

    private static TransformerConfig.Builder gpt2(int vocab, int hidden, int layers, int heads, int positions) {
        return TransformerConfig.builder(Architecture.GPT2).setVocabSize(vocab).setHiddenSize(hidden)
                .setNumLayers(layers).setNumHeads(heads).setMaxPositions(positions);
    }

    /**
     * The configuration of a preset.
     *
     * @param name a preset name, any case, surrounding blanks ignored (for example {@code "GPT2-XL"})
     * @return its configuration
     * @throws IllegalArgumentException for an unknown name, listing the known ones
     */
    public static TransformerConfig get(String name) {
        return preset(name).config();
    }

    /**
     * A preset with its published size and source.
     *
     * @param name a preset name, any case, surrounding blanks ignored
     * @return the preset
     * @throws IllegalArgumentException for an unknown name, listing the known ones
     */
    public static Preset preset(String name) {
        Preset p = name == null ? null : PRESETS.get(name.trim().toLowerCase(Locale.ROOT));
        if (p == null) {
            throw new IllegalArgumentException("unknown model preset " + (name == null ? "null" : "\"" + name + "\"")
                    + "; known presets: " + String.join(", ", PRESETS.keySet())
                    + "; or load a Hugging Face config.json with HfConfigJson.read(..)");
        }
        return p;
    }

    /** @return the preset names in a stable order (BERT, Megatron-BERT, GPT-2, Megatron, Turing-NLG, GPT-3, MT-NLG, tiny, mini, RoBERTa, DistilBERT, ALBERT) */
    public static List<String> names() {
        return List.copyOf(PRESETS.keySet());
    }

    /** @return every preset, in the order of {@link #names()} */
    public static List<Preset> all() {
        return List.copyOf(PRESETS.values());
    }
}
