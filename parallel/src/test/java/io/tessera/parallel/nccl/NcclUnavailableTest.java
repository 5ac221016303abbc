package io.tessera.parallel.nccl;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.tessera.parallel.ParallelLayout;
import io.tessera.parallel.comm.CommOptions;
import org.junit.jupiter.api.Test;

/** On a machine without CUDA, every entry point fails at once with the probe's reason and the fix. */
class NcclUnavailableTest {

    @Test
    void creatingACommunicatorNamesTheReasonAndTheFix() {
        assumeFalse(NcclSupport.available(), "NCCL is available here; the unavailable path is not reachable");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> NcclCommunicator.create(null, "world[0]", 0, 1, 0, CommOptions.defaults()));
        System.out.println("[NcclUnavailableTest] " + e.getMessage());
        String m = e.getMessage();
        assertTrue(m.contains("world[0]") && m.contains(NcclSupport.unavailableReason()) && m.contains("Netty backend"), m);
    }

    @Test
    void formingGroupsFailsTheSameWay() {
        assumeFalse(NcclSupport.available(), "NCCL is available here; the unavailable path is not reachable");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> NcclGroups.join(null, ParallelLayout.of(2, 2, 1), 0, 0, CommOptions.defaults()));
        assertTrue(e.getMessage().contains(NcclSupport.unavailableReason()), e.getMessage());
    }

    @Test
    void argumentsAreCheckedBeforeAnythingElse() {
        assertThrows(IllegalArgumentException.class,
                () -> NcclCommunicator.create(null, "g", 2, 2, 0, CommOptions.defaults()));
        assertThrows(IllegalArgumentException.class,
                () -> NcclCommunicator.create(null, "g", 0, 1, -1, CommOptions.defaults()));
    }
}
