package io.tessera.examples.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.tessera.examples.eval.HfEvaluation;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.launch.LocalCluster;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A model trained at TP=2 and exported loads into a TP=1 model that computes the same losses. */
class ExportRoundTripTest {

    @TempDir
    Path dir;

    @Test
    void exportedModelGivesTheSameOutputsAtTensorParallelOneAndTwo() throws IOException {
        Path out = dir.resolve("run");
        TrainerFixture.run(TrainerFixture.tinyBert(out).optSteps(2).optTensorParallel(2).build());
        Path input = dir.resolve("batch.json");
        Files.writeString(input, batchJson());
        Path model = out.resolve("model");
        Map<String, Double> tp1 = HfEvaluation.evaluate(model, input, ParallelContext.single());
        List<Map<String, Double>> tp2 = LocalCluster.run(ParallelLayout.of(2, 2, 1), Duration.ofSeconds(120), ctx -> {
            try {
                return HfEvaluation.evaluate(model, input, ctx);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        for (String k : List.of("loss", "mlm_loss", "nsp_loss")) {
            assertEquals(tp2.get(0).get(k), tp1.get(k), 1e-5 * Math.abs(tp1.get(k)), k);
        }
        // A second export from the sharded checkpoint (the path 'tessera export' takes) holds the same model.
        Path again = dir.resolve("exported-again");
        TrainConfig saved = RunRecord.read(out);
        LocalCluster.run(ParallelLayout.of(2, 2, 1), Duration.ofSeconds(120), ctx -> {
            try {
                new Trainer(saved, ctx, System.out).export(null, again);
                return null;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        assertEquals(0.0, TrainerFixture.maxRelativeDifference(again, model, 0.0));
    }

    private static String batchJson() {
        JsonObject o = new JsonObject();
        o.add("input_ids", rows(new int[][] {{2, 10, 11, 4, 12, 3, 13, 14, 3, 0}, {2, 20, 4, 22, 3, 23, 4, 25, 3, 0}}));
        o.add("token_type_ids", rows(new int[][] {{0, 0, 0, 0, 0, 0, 1, 1, 1, 0}, {0, 0, 0, 0, 0, 1, 1, 1, 1, 0}}));
        o.add("attention_mask", rows(new int[][] {{1, 1, 1, 1, 1, 1, 1, 1, 1, 0}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 0}}));
        o.add("labels", rows(new int[][] {{-100, -100, -100, 15, -100, -100, -100, -100, -100, -100},
            {-100, -100, 21, -100, -100, -100, 24, -100, -100, -100}}));
        JsonArray nsp = new JsonArray();
        nsp.add(0);
        nsp.add(1);
        o.add("next_sentence_label", nsp);
        return o.toString();
    }

    private static JsonArray rows(int[][] m) {
        JsonArray a = new JsonArray();
        for (int[] r : m) {
            JsonArray row = new JsonArray();
            for (int v : r) {
                row.add(v);
            }
            a.add(row);
        }
        return a;
    }
}
