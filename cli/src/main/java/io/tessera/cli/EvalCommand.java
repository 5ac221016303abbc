package io.tessera.cli;

import com.google.gson.GsonBuilder;
import io.tessera.core.Devices;
import io.tessera.core.io.AtomicFiles;
import io.tessera.train.eval.HfEvaluation;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code tessera eval}: the losses of a Hugging Face model directory on one batch, at any
 * tensor-parallel degree.
 *
 * <p>Thread safety: a command; runs once.
 */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Evaluate a Hugging Face model directory on a batch given with Hugging Face's input names.")
final class EvalCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model-dir", required = true, description = "Folder with config.json and model.safetensors.")
    Path modelDir;

    @Option(names = "--input", required = true, description = "JSON with input_ids, token_type_ids, attention_mask, labels"
            + " (-100 = ignored), next_sentence_label.")
    Path input;

    @Option(names = "--output", required = true, description = "JSON file to write: {\"loss\", \"mlm_loss\", \"nsp_loss\"} for BERT,"
            + " {\"loss\"} for GPT-2.")
    Path output;

    @Option(names = "--nproc", description = "Spawn this many local ranks.")
    Integer nproc;

    @Option(names = "--tp", description = "Tensor-parallel degree. Default: ${DEFAULT-VALUE}.")
    int tp = 1;

    @Option(names = "--threads", description = "libtorch threads per rank.")
    Integer threads;

    @Override
    public Integer call() throws Exception {
        // One batch: the CPU is quick enough and needs no NCCL.
        return Ranks.run(spec, nproc, tp, threads, Duration.ofSeconds(300), Devices.parse("cpu"), (ctx, device) -> {
            Map<String, Double> losses = HfEvaluation.evaluate(modelDir, input, ctx);
            if (ctx.rank() == 0) {
                String json = new GsonBuilder().setPrettyPrinting().create().toJson(losses);
                AtomicFiles.write(output, json.getBytes(StandardCharsets.UTF_8));
                System.out.println(json);
            }
        });
    }
}
