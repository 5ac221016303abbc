package io.tessera.parallel.launch;

import java.io.PrintStream;
import java.util.Objects;

/**
 * Where {@link LocalLauncher} sends each line a rank writes to its stdout or stderr.
 *
 * <pre>{@code
 * RankOutput console = RankOutput.prefixed(System.out);             // "[rank 1] step 3/20 ..."
 * RankOutput firstOnly = (rank, line) -> { if (rank == 0) lines.add(line); };
 * }</pre>
 *
 * <p>Thread safety: the launcher calls it from one thread per rank stream, so an implementation must be
 * thread-safe; {@link #prefixed} is.
 */
@FunctionalInterface
public interface RankOutput {

    /**
     * @param rank the rank that wrote the line
     * @param line the line, without its end-of-line
     */
    void line(int rank, String line);

    /**
     * @param out the stream; lines are written whole, one at a time
     * @return an output that prints {@code [rank i] line}
     */
    static RankOutput prefixed(PrintStream out) {
        Objects.requireNonNull(out, "out");
        return (rank, line) -> {
            synchronized (out) {
                out.println("[rank " + rank + "] " + line);
            }
        };
    }
}
