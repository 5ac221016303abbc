package io.tessera.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Checks and prepares a run's output folder before anything is computed, so that a mistake ends the
 * job at once with a clear message and nothing half-written.
 *
 * <p>Thread safety: stateless.
 */
public final class RunFolder {

    private RunFolder() {}

    /**
     * @param out the output folder
     * @param resume whether the run continues from a checkpoint there
     * @param overwrite whether an existing folder may be replaced
     * @param create whether to create (and, with overwrite, clear) it; false only checks
     * @throws IllegalArgumentException if the folder is unusable, naming it and the fix
     * @throws IOException if it cannot be created or cleared
     */
    public static void prepare(Path out, boolean resume, boolean overwrite, boolean create) throws IOException {
        boolean exists = Files.exists(out);
        if (exists && !Files.isDirectory(out)) {
            throw new IllegalArgumentException("--out " + out + " is a file, not a folder; choose another path");
        }
        boolean nonEmpty = exists && !isEmpty(out);
        if (resume && !nonEmpty) {
            throw new IllegalArgumentException("--resume: " + out + " holds no earlier run to resume; drop --resume to start one");
        }
        if (nonEmpty && !resume && !overwrite) {
            throw new IllegalArgumentException("--out " + out + " already exists and is not empty; pass --resume to continue that"
                    + " run, --overwrite to replace it, or choose another folder");
        }
        Path probeDir = exists ? out : firstExistingParent(out);
        if (probeDir == null || !Files.isDirectory(probeDir) || !Files.isWritable(probeDir)) {
            throw new IllegalArgumentException("--out " + out + " is not writable (" + (probeDir == null ? "no existing parent"
                    : !Files.isDirectory(probeDir) ? probeDir + " is a file, not a folder" : probeDir + " refuses writes")
                    + "); choose a folder you can write to");
        }
        if (!create) {
            return;
        }
        if (nonEmpty && overwrite) {
            CheckpointStore.deleteTree(out);
        }
        Files.createDirectories(out);
    }

    /**
     * Replaces a folder by a fully written one: the old folder is moved aside, the new one moved into its
     * place, then the old one deleted, so that {@code target} is at every moment either the old or the new
     * complete folder (both on one file system).
     *
     * @param written the new folder, complete
     * @param target where it goes
     * @throws IOException if a move fails
     */
    public static void replace(Path written, Path target) throws IOException {
        Path old = target.resolveSibling(target.getFileName() + ".old");
        CheckpointStore.deleteTree(old);
        if (Files.exists(target)) {
            Files.move(target, old, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        Files.move(written, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        CheckpointStore.deleteTree(old);
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    private static Path firstExistingParent(Path p) {
        Path q = p.toAbsolutePath().getParent();
        while (q != null && !Files.exists(q)) {
            q = q.getParent();
        }
        return q;
    }
}
