package io.tessera.parallel.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JobEnvironmentTest {

    @Test
    void readsTorchrunVariables() {
        JobEnvironment e = JobEnvironment.fromEnv(Map.of("MASTER_ADDR", "10.0.0.1", "MASTER_PORT", "1234", "RANK", "3",
                "WORLD_SIZE", "8", "LOCAL_RANK", "1", "TESSERA_JOB_TOKEN", "tok"));
        assertEquals(new JobEnvironment("10.0.0.1", 1234, 3, 8, 1, 2, "tok", "torchrun environment"), e);
    }

    @Test
    void theLocalWorldSizeComesFromTheLauncherOrFromWhereTheStoreIs() {
        Map<String, String> torchrun = Map.of("MASTER_ADDR", "10.0.0.1", "MASTER_PORT", "1234", "RANK", "3", "WORLD_SIZE", "8",
                "LOCAL_RANK", "1", "LOCAL_WORLD_SIZE", "4");
        assertEquals(4, JobEnvironment.fromEnv(torchrun).localWorldSize());
        assertEquals(8, JobEnvironment.fromEnv(Map.of("MASTER_ADDR", "127.0.0.1", "MASTER_PORT", "1234", "RANK", "3",
                "WORLD_SIZE", "8")).localWorldSize());
        assertEquals(4, JobEnvironment.fromEnv(Map.of("SLURM_PROCID", "5", "SLURM_NTASKS", "16", "SLURM_LOCALID", "1",
                "SLURM_NTASKS_PER_NODE", "4(x4)", "MASTER_ADDR", "gpu07")).localWorldSize());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> JobEnvironment.fromEnv(Map.of(
                "MASTER_ADDR", "10.0.0.1", "MASTER_PORT", "1234", "RANK", "3", "WORLD_SIZE", "8", "LOCAL_RANK", "2",
                "LOCAL_WORLD_SIZE", "2")));
        assertTrue(e.getMessage().contains("local world size = 2"), e.getMessage());
    }

    @Test
    void readsSlurmVariablesWithTheFirstNodeAsMaster() {
        JobEnvironment e = JobEnvironment.fromEnv(Map.of("SLURM_PROCID", "5", "SLURM_NTASKS", "16", "SLURM_LOCALID", "1",
                "SLURM_JOB_NODELIST", "gpu[07-10,12],login"));
        assertEquals("gpu07", e.masterAddr());
        assertEquals(JobEnvironment.DEFAULT_PORT, e.masterPort());
        assertEquals(5, e.rank());
        assertEquals(16, e.worldSize());
        assertEquals(1, e.localRank());
        assertEquals("", e.token());
    }

    @Test
    void expandsSlurmNodeLists() {
        assertEquals(List.of("node01", "node02", "node03", "node04", "other"), JobEnvironment.expandNodeList("node[01-04],other"));
        assertEquals(List.of("a9", "a10", "b-1"), JobEnvironment.expandNodeList("a[9-10],b-1"));
        assertEquals(List.of("r1n1", "r1n2", "r2n1", "r2n2"), JobEnvironment.expandNodeList("r[1-2]n[1-2]"));
        assertThrows(IllegalArgumentException.class, () -> JobEnvironment.expandNodeList("node[01-"));
        assertThrows(IllegalArgumentException.class, () -> JobEnvironment.expandNodeList("node[x]"));
    }

    @Test
    void errorsNameTheVariable() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> JobEnvironment.fromEnv(Map.of("RANK", "0", "WORLD_SIZE", "2", "MASTER_ADDR", "h")));
        assertTrue(e.getMessage().contains("MASTER_PORT is not set"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> JobEnvironment.fromEnv(Map.of("RANK", "2", "WORLD_SIZE", "2",
                "MASTER_ADDR", "h", "MASTER_PORT", "1")));
        assertTrue(e.getMessage().contains("rank = 2 must be in [0, 2)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> JobEnvironment.fromEnv(Map.of("RANK", "x", "WORLD_SIZE", "2",
                "MASTER_ADDR", "h", "MASTER_PORT", "1")));
        assertTrue(e.getMessage().contains("RANK = 'x' is not an integer"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> JobEnvironment.fromEnv(Map.of()));
        assertTrue(e.getMessage().startsWith("no job environment"), e.getMessage());
    }
}
