package io.tessera.train.finetune;

import ai.djl.ndarray.NDManager;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.models.TransformerModel;
import io.tessera.models.checkpoint.HfCheckpoint;
import io.tessera.models.config.Presets;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.ParallelContext;
import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.launch.LocalCluster;
import io.tessera.train.Trainer;
import io.tessera.train.data.Vocabulary;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Tiny "pretrained" encoders (random weights saved as Hugging Face directories with their tokenizer)
 * and small task files with a learnable signal, for fine-tuning tests.
 */
public final class FineTuneFixture {

    static final List<String> ADJECTIVES_POS = List.of("good", "great", "fine", "superb");
    static final List<String> ADJECTIVES_NEG = List.of("bad", "dull", "awful", "weak");
    static final List<String> NOUNS = List.of("film", "plot", "cast", "score", "story");
    static final List<String> PEOPLE = List.of("john", "mary", "smith", "jones");
    static final List<String> PLACES = List.of("paris", "london", "rome");
    static final List<String> FILLER = List.of("the", "a", "is", "was", "very", "met", "in", "visited", "and", ".");

    private FineTuneFixture() {}

    /** Special tokens, the words above, and a few sub-words (so that some words split). */
    public static Vocabulary vocabulary() {
        List<String> tokens = new ArrayList<>(Vocabulary.SPECIAL_TOKENS);
        for (List<String> group : List.of(ADJECTIVES_POS, ADJECTIVES_NEG, NOUNS, PEOPLE, PLACES, FILLER)) {
            tokens.addAll(group);
        }
        tokens.addAll(List.of("new", "##s", "##ton", "york"));
        return Vocabulary.of(tokens);
    }

    /**
     * Writes a randomly initialised pre-training model of a tiny preset, sized to {@link #vocabulary()},
     * with its tokenizer files: what pretrain's export looks like.
     *
     * @param dir the directory
     * @param preset e.g. {@code bert-tiny}, {@code distilbert-tiny}, {@code roberta-tiny}
     * @return {@code dir}
     */
    public static Path pretrained(Path dir, String preset) throws IOException {
        Vocabulary v = vocabulary();
        TransformerConfig c = Presets.get(preset).toBuilder().setVocabSize(v.size()).optPadTokenId(v.padId()).build();
        TransformerModel model = TransformerModel.of(c, ParallelContext.single());
        try (NDManager m = NDManager.newBaseManager(); ParameterBuffer b = ParameterBuffer.allocate(model, 3, m)) {
            HfCheckpoint.save(model, dir, Trainer.tokenizerFiles(v, c));
        }
        return dir;
    }

    /** A sentiment TSV: the label is 1 when the adjective is positive. */
    public static Path sentiment(Path file, int rows, long seed) throws IOException {
        Random r = new Random(seed);
        StringBuilder sb = new StringBuilder("sentence\tlabel\n");
        for (int i = 0; i < rows; i++) {
            boolean pos = r.nextBoolean();
            List<String> adjectives = pos ? ADJECTIVES_POS : ADJECTIVES_NEG;
            StringBuilder s = new StringBuilder(pick(r, FILLER.subList(0, 2)) + " " + pick(r, NOUNS) + " " + pick(r, FILLER.subList(2, 4)));
            for (int k = 0; k < r.nextInt(3); k++) {
                s.append(" very");
            }
            s.append(' ').append(pick(r, adjectives)).append(" .");
            sb.append(s).append('\t').append(pos ? 1 : 0).append('\n');
        }
        Files.writeString(file, sb.toString(), StandardCharsets.UTF_8);
        return file;
    }

    /** A CoNLL file: people are B-PER (I-PER for a surname after a first name), places B-LOC, "new york" B-LOC I-LOC. */
    public static Path entities(Path file, int sentences, long seed) throws IOException {
        Random r = new Random(seed);
        StringBuilder sb = new StringBuilder("-DOCSTART- O\n\n");
        for (int i = 0; i < sentences; i++) {
            String first = pick(r, PEOPLE.subList(0, 2));
            sb.append(Character.toUpperCase(first.charAt(0))).append(first.substring(1)).append(" B-PER\n");
            if (r.nextBoolean()) {
                sb.append(pick(r, PEOPLE.subList(2, 4))).append(" I-PER\n");
            }
            sb.append(pick(r, List.of("met", "visited"))).append(" O\n");
            if (r.nextInt(3) == 0) {
                sb.append("New B-LOC\nYork I-LOC\n");
            } else {
                String place = pick(r, PLACES);
                sb.append(r.nextBoolean() ? place : place + "s").append(" B-LOC\n");
            }
            sb.append(". O\n\n");
        }
        Files.writeString(file, sb.toString(), StandardCharsets.UTF_8);
        return file;
    }

    /** Runs a configuration on {@code tp × dp} in-JVM ranks; rank 0 logs to standard output. */
    public static List<FineTuner.Result> run(FineTuneConfig cfg) {
        PrintStream quiet = new PrintStream(new ByteArrayOutputStream());
        int world = cfg.tensorParallel() * cfg.dataParallel();
        return LocalCluster.run(ParallelLayout.of(world, cfg.tensorParallel(), 1), Duration.ofSeconds(300), ctx -> {
            try {
                return new FineTuner(cfg, ctx, ctx.rank() == 0 ? System.out : quiet).run();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static String pick(Random r, List<String> from) {
        return from.get(r.nextInt(from.size()));
    }
}
