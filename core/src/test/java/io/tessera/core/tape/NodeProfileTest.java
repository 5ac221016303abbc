package io.tessera.core.tape;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A tape tells its timers about every node's forward and backward; profiles group layers by kind. */
class NodeProfileTest {

    @Test
    void kindsReplaceLayerNumbersOnly() {
        assertEquals("encoder.layer.*.attention", NodeProfile.kind("encoder.layer.11.attention"));
        assertEquals("h.*.mlp.c_fc", NodeProfile.kind("h.3.mlp.c_fc"));
        assertEquals("*.x", NodeProfile.kind("0.x"));
        assertEquals("gpt2.lm_head", NodeProfile.kind("gpt2.lm_head"));
    }

    @Test
    void everyNodeIsTimedForwardAndBackward() {
        List<String> calls = new ArrayList<>();
        NodeProfile profile = new NodeProfile();
        try (NDManager m = NDManager.newBaseManager(Device.cpu()); Tape tape = new Tape(m, 1, true)) {
            tape.addTimer((name, backward, nanos) -> calls.add(name + (backward ? " bwd" : " fwd")));
            tape.addTimer(profile);
            Var x = tape.variable(m.ones(new Shape(3)));
            Var y = tape.apply1("layer.0.square", false, (ctx, l) -> new NDList(l.get(0).square()), x);
            Var z = tape.apply1("layer.1.square", false, (ctx, l) -> new NDList(l.get(0).square()), y);
            Var loss = tape.apply1("loss", false, (ctx, l) -> new NDList(l.get(0).sum()), z);
            tape.backward(loss);
        }
        assertEquals(List.of("layer.0.square fwd", "layer.1.square fwd", "loss fwd", "loss bwd", "layer.1.square bwd",
                "layer.0.square bwd"), calls);
        String table = profile.table(10);
        assertTrue(table.contains("layer.*.square") && table.contains("loss"), table);
        assertTrue(profile.totalNanos() > 0);
    }
}
