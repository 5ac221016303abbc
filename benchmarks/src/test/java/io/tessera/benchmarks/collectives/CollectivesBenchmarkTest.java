package io.tessera.benchmarks.collectives;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tessera.parallel.comm.CommOptions;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Options, bandwidth conventions and output formats of the collectives benchmark (no processes run). */
class CollectivesBenchmarkTest {

    @Test
    void busBandwidthFollowsNcclTests() {
        assertEquals(1.0, CollectiveOp.ALLREDUCE.busFactor(2), 1e-12);
        assertEquals(1.5, CollectiveOp.ALLREDUCE.busFactor(4), 1e-12);
        assertEquals(0.75, CollectiveOp.ALLGATHER.busFactor(4), 1e-12);
        assertEquals(0.75, CollectiveOp.REDUCESCATTER.busFactor(4), 1e-12);
        assertEquals(1.0, CollectiveOp.BROADCAST.busFactor(4), 1e-12);
    }

    @Test
    void parsesFlags() {
        CollectivesBenchmark.Options o = CollectivesBenchmark.parseArgs(new String[] {"--worlds", "2,3", "--sizes", "512KB,16MB",
                "--ops", "allreduce,broadcast", "--iters", "7", "--chunk", "2MB", "--same-host", "shared-memory", "--json",
                "out.json", "--no-gloo"});
        assertEquals(List.of(2, 3), o.worlds());
        assertEquals(List.of(512L << 10, 16L << 20), o.sizes());
        assertEquals(List.of(CollectiveOp.ALLREDUCE, CollectiveOp.BROADCAST), o.ops());
        assertEquals(7, o.iterations());
        assertEquals(2 << 20, o.chunkBytes());
        assertEquals(CommOptions.SameHost.SHARED_MEMORY, o.sameHost());
        assertEquals(Path.of("out.json"), o.json());
        assertEquals(null, o.python());
        assertThrows(IllegalArgumentException.class, () -> CollectivesBenchmark.parseArgs(new String[] {"--worlds", "1"}));
        assertThrows(IllegalArgumentException.class, () -> CollectivesBenchmark.parseArgs(new String[] {"--bogus", "1"}));
    }

    @Test
    void writesTheAgreedJsonAndARatioTable() {
        List<CollectivesBenchmark.Row> rows = List.of(
                new CollectivesBenchmark.Row(CollectivesBenchmark.TESSERA, CollectiveOp.ALLREDUCE, 2, 16L << 20, 0.01, 1.6777216, 1.6777216),
                new CollectivesBenchmark.Row(CollectivesBenchmark.GLOO, CollectiveOp.ALLREDUCE, 2, 16L << 20, 0.02, 0.8388608, 0.8388608));
        String json = CollectivesBenchmark.json(rows);
        assertTrue(json.startsWith("{\"rows\":[{\"backend\":\"tessera-netty\",\"op\":\"allreduce\",\"world\":2,\"bytes\":16777216,"), json);
        assertTrue(json.contains("\"algbw_gbps\":0.8389,\"busbw_gbps\":0.8389}"), json);
        String table = CollectivesBenchmark.table(rows);
        assertTrue(table.contains("allreduce      2      16MB") && table.contains("2.00x"), table);
    }
}
