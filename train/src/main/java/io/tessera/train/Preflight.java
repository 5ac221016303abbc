package io.tessera.train;

import io.tessera.train.data.Corpus;
import io.tessera.train.data.Vocabulary;
import io.tessera.train.data.WikiText2;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Checks a run's inputs and output folder before any rank starts, so that bad input ends the job at
 * once, with a message naming the value and the fix, a non-zero exit, and nothing written.
 *
 * <p>Thread safety: stateless.
 */
public final class Preflight {

    private Preflight() {}

    /**
     * Checks that a rank's groups are the layout its run asks for.
     *
     * @param ctx the rank's groups
     * @param tensorParallel the run's tensor-parallel degree
     * @param dataParallel the run's data-parallel degree
     * @throws IllegalArgumentException naming both layouts and the fix
     */
    public static void checkLayout(io.tessera.parallel.ParallelContext ctx, int tensorParallel, int dataParallel) {
        if (ctx.tensorSize() != tensorParallel || ctx.dataSize() != dataParallel) {
            throw new IllegalArgumentException("rank " + ctx.rank() + ": the job has tp " + ctx.tensorSize() + " × dp " + ctx.dataSize()
                    + " but the configuration asks for tp " + tensorParallel + " × dp " + dataParallel
                    + "; launch as many ranks as --tp × --dp");
        }
    }

    /**
     * @param cfg the run
     * @throws IllegalArgumentException naming the first problem and its fix
     * @throws IOException if a file cannot be read
     */
    public static void check(TrainConfig cfg) throws IOException {
        for (Path f : new Path[] {WikiText2.trainFile(cfg.dataDir()), WikiText2.heldOutFile(cfg.dataDir())}) {
            if (!Files.isRegularFile(f)) {
                throw new IllegalArgumentException("--data " + cfg.dataDir() + ": " + f.getFileName() + " is missing (" + f.toAbsolutePath()
                        + "); pass the folder holding valid.txt (training) and test.txt (held out), e.g. data/wikitext-2");
            }
            if (Files.size(f) == 0) {
                throw new IllegalArgumentException("--data " + cfg.dataDir() + ": " + f.toAbsolutePath() + " is empty; the corpus needs text");
            }
        }
        Corpus.loadWikiText(WikiText2.trainFile(cfg.dataDir()));
        if (cfg.vocabFile() != null) {
            Vocabulary.load(cfg.vocabFile());
        }
        RunFolder.prepare(cfg.out(), cfg.resume(), cfg.overwrite(), false);
    }
}
