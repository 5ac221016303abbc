package io.tessera.train.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the shipped WikiText-2 corpus lies and which split plays which role.
 *
 * <p>The repository ships the validation and test splits of WikiText-2 (CC BY-SA 3.0, see
 * {@code data/wikitext-2/ATTRIBUTION.md}); the training split is not included. Tessera
 * trains on {@code valid.txt} (about 214 k words, 60 articles: the vocabulary and all
 * pretraining examples come from it) and holds {@code test.txt} out for evaluation.
 *
 * <p>Thread safety: stateless, safe from any thread.
 */
public final class WikiText2 {

    /** The data folder relative to the repository root. */
    public static final Path RELATIVE_DIR = Path.of("data", "wikitext-2");

    private WikiText2() {
    }

    /**
     * Returns the training file.
     *
     * @param dir the {@code wikitext-2} folder
     * @return {@code dir/valid.txt}
     */
    public static Path trainFile(Path dir) {
        return dir.resolve("valid.txt");
    }

    /**
     * Returns the held-out file.
     *
     * @param dir the {@code wikitext-2} folder
     * @return {@code dir/test.txt}
     */
    public static Path heldOutFile(Path dir) {
        return dir.resolve("test.txt");
    }

    /**
     * Looks for {@code data/wikitext-2} in a folder and its parents, so that a command run
     * from the repository root or from a module folder finds it.
     *
     * @param start the folder to start from (typically the working directory)
     * @return the folder holding {@code valid.txt}, if any
     */
    public static Optional<Path> find(Path start) {
        for (Path dir = start.toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve(RELATIVE_DIR);
            if (Files.isRegularFile(trainFile(candidate))) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }
}
