package io.tessera.train.distill;

import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerModel;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.config.Presets;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.train.Trainer;
import io.tessera.train.data.Vocabulary;
import io.tessera.train.finetune.FineTuneFixture;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

/** A tiny BERT teacher written as pretrain's export, and masked-LM batches for it. */
final class DistillFixture {

    private DistillFixture() {}

    /** A 4-layer bert-tiny with random (seeded) weights, a non-zero segment-0 embedding, and its tokenizer files. */
    static Path teacher(Path dir, int layers) throws IOException {
        Vocabulary v = FineTuneFixture.vocabulary();
        TransformerConfig c = Presets.get("bert-tiny").toBuilder().setNumLayers(layers).setVocabSize(v.size()).optPadTokenId(v.padId())
                .optHiddenDropout(0).optAttentionDropout(0).build();
        TransformerModel model = TransformerModel.of(c, ParallelContext.single());
        try (NDManager m = NDManager.newBaseManager(); ParameterBuffer b = ParameterBuffer.allocate(model, 11, m)) {
            HfCheckpoint.save(model, dir, Trainer.tokenizerFiles(v, c));
        }
        return dir;
    }

    /** B×T ids in the vocabulary, the last {@code pad} positions of row 0 padded, about a quarter of the rest masked. */
    static TokenBatch batch(NDManager m, int b, int t, int vocab, int pad, long seed) {
        Random r = new Random(seed);
        int[] ids = new int[b * t];
        int[] mask = new int[b * t];
        int[] labels = new int[b * t];
        for (int i = 0; i < b * t; i++) {
            boolean padded = i / t == 0 && i % t >= t - pad;
            ids[i] = padded ? 0 : 5 + r.nextInt(vocab - 5);
            mask[i] = padded ? 0 : 1;
            labels[i] = !padded && (r.nextInt(4) == 0 || i == 1) ? 5 + r.nextInt(vocab - 5) : -100;
        }
        return TokenBatch.of(m, b, t, ids, null, mask, labels, null);
    }
}
