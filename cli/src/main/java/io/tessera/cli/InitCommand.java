package io.tessera.cli;

import ai.djl.ndarray.NDManager;
import io.tessera.core.Torch;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.models.TransformerModel;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import java.nio.file.Path;
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

    @Option(names = "--out", required = true, description = "Model directory to write (config.json + model.safetensors).")
    Path out;

    @Override
    public Integer call() throws Exception {
        TransformerConfig config = PretrainCommand.loadModel(model);
        try (NDManager m = NDManager.newBaseManager(ai.djl.Device.cpu()); Torch.GradMode off = Torch.gradMode(false)) {
            ParallelContext single = ParallelContext.single();
            TransformerModel net = TransformerModel.of(config, single);
            try (ParameterBuffer params = ParameterBuffer.allocate(net, seed, m, false)) {
                HfCheckpoint.save(net, out);
                System.out.printf("wrote %s (%,d parameters, seed %d) to %s%n", model, params.numel(), seed, out);
            }
        }
        return 0;
    }
}
