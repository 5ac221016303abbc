package io.tessera.benchmarks.ceiling;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The ceiling's defaults: fp32 backends on, the CPU's unvectorised fp16 off unless asked for. */
class CeilingOptionsTest {

    @Test
    void fp16IsOffByDefaultAndOnWithTheFlag() {
        CeilingOptions defaults = CeilingOptions.parse(new String[0]);
        assertFalse(defaults.fp16(), "fp16 on a CPU takes minutes per shape; it must be asked for");
        assertTrue(defaults.openblas() && defaults.reference(), defaults.toString());
        assertTrue(CeilingOptions.parse(new String[] {"--fp16"}).fp16());
        assertFalse(CeilingOptions.parse(new String[] {"--no-fp16"}).fp16(), "--no-fp16 is still accepted");
    }
}
