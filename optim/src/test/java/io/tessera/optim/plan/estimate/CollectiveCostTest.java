package io.tessera.optim.plan.estimate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class CollectiveCostTest {

    private static final Link LINK = new Link(1e-5, 1e9);

    @Test
    void ringAllReduceIsTwoRoundsOfBandwidthAndLatency() {
        // 2·3/4 · 1e6/1e9 + 2·3·1e-5 = 1.5e-3 + 6e-5
        assertEquals(1.56e-3, CollectiveCost.allReduce(1e6, 4, LINK), 1e-12);
    }

    @Test
    void reduceScatterAndAllGatherAreHalfAnAllReduce() {
        // 3/4 · 1e6/1e9 + 3·1e-5
        assertEquals(7.8e-4, CollectiveCost.reduceScatter(1e6, 4, LINK), 1e-12);
        assertEquals(7.8e-4, CollectiveCost.allGather(1e6, 4, LINK), 1e-12);
    }

    @Test
    void sendRecvIsOneLatencyAndOneTransfer() {
        assertEquals(1.01e-3, CollectiveCost.sendRecv(1e6, LINK), 1e-12);
    }

    @Test
    void aGroupOfOneCostsNothing() {
        assertEquals(0, CollectiveCost.allReduce(1e6, 1, LINK));
        assertEquals(0, CollectiveCost.reduceScatter(1e6, 1, LINK));
    }

    @Test
    void badInputsAreRefused() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CollectiveCost.allReduce(1e6, 0, LINK))
                .getMessage().contains("ranks = 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CollectiveCost.allReduce(-1, 2, LINK))
                .getMessage().contains("bytes = -1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Link(1e-6, 0))
                .getMessage().contains("--intra-node-gbps"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Link(-1, 1e9))
                .getMessage().contains("--latency-us"));
    }
}
