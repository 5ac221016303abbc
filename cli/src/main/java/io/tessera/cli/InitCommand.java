package io.tessera.cli;

import ai.djl.ndarray.NDManager;
import io.tessera.core.Torch;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.train.data.Vocabulary;
import io.tessera.train.Trainer;
import io.tessera.models.TransformerModel;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tessera init}: writes a freshly initialised model as a Hugging Face directory. The weights are
 * those every tensor-parallel degree gathers to for the same seed.
 *
 * <p>Thread safety: a command; runs once.
 */
@Command(name = "init", mixinStandardHelpOptions = true, description = "Write a freshly initialised model as a Hugging Face directory.")
final class InitCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, description = "Preset name or config.json path.")
    String model;

    @Option(names = "--seed", description = "Initialisation seed. Default: ${DEFAULT-VALUE}.")
    long seed = 1234;

    @Option(names = "--out", required = true, description = "Model directory to write (config.json + model.safetensors, and the tokenizer files with --vocab).")
    Path out;

    @Option(names = "--vocab", description = "A vocab.txt (e.g. a run's): the model's vocabulary size becomes its size, and the"
            + " directory gets the tokenizer files (vocab.txt, tokenizer_config.json, special_tokens_map.json), uncased as pretrain"
            + " tokenizes.")
    Path vocab;

    @Override
    public Integer call() throws Exception {
        TransformerConfig config = PretrainCommand.loadModel(model);
        Vocabulary vocabulary = vocab == null ? null : Vocabulary.load(vocab);
        if (vocabulary != null) {
            config = config.toBuilder().setVocabSize(vocabulary.size()).build();
        }
        Map<String, byte[]> tokenizer = vocabulary == null ? Map.of() : Trainer.tokenizerFiles(vocabulary, config);
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu()); Torch.GradMode off = Torch.gradMode(false)) {
            ParallelContext single = ParallelContext.single();
            TransformerModel net = TransformerModel.of(config, single);
            try (ParameterBuffer params = ParameterBuffer.allocate(net, seed, m, false)) {
                HfCheckpoint.save(net, out, tokenizer);
                System.out.printf("wrote %s (%,d parameters, seed %d%s) to %s%n", model, params.numel(), seed,
                        vocabulary == null ? "" : ", tokenizer of " + vocabulary.size() + " tokens", out);
            }
        }
        return 0;
    }
}
