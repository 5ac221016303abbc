package io.tessera.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link MemorySize}: hand-worked byte counts for each unit, and messages that name the value and the rule. */
class MemorySizeTest {

    private static long bytes(String text) {
        return MemorySize.parse(text).bytes();
    }

    @Test
    void aBareNumberIsGibibytes() {
        assertEquals(34_359_738_368L, bytes("32")); // 32 · 2^30
        assertEquals(1_610_612_736L, bytes("1.5")); // 1.5 · 2^30
    }

    @Test
    void binaryUnitsArePowersOf1024() {
        assertEquals(34_359_738_368L, bytes("32GiB"));
        assertEquals(34_359_738_368L, bytes("32G"));
        assertEquals(34_359_738_368L, bytes("32Gi"));
        assertEquals(85_899_345_920L, bytes("80G")); // 80 · 2^30
        assertEquals(1_610_612_736L, bytes("1.5GiB"));
        assertEquals(536_870_912L, bytes("512MiB")); // 2^29
        assertEquals(2048L, bytes("2K"));
        assertEquals(1_099_511_627_776L, bytes("1TiB")); // 2^40
    }

    @Test
    void decimalUnitsArePowersOf1000() {
        assertEquals(32_000_000_000L, bytes("32GB"));
        assertEquals(80_000_000_000L, bytes("80GB"));
        assertEquals(1_500_000L, bytes("1.5MB"));
        assertEquals(2_000_000_000_000L, bytes("2TB"));
        assertEquals(1024L, bytes("1024B"));
    }

    @Test
    void unitsIgnoreCaseAndSpaces() {
        assertEquals(32_000_000_000L, bytes("32gb"));
        assertEquals(34_359_738_368L, bytes("32gib"));
        assertEquals(34_359_738_368L, bytes(" 32 GiB "));
        assertEquals(85_899_345_920L, bytes("80g"));
        assertEquals("32 GiB", MemorySize.parse(" 32 GiB ").text());
    }

    @Test
    void fractionsOfAByteAreRoundedDown() {
        assertEquals(1L, bytes("1.9B"));
        assertEquals(1536L, bytes("1.5K"));
    }

    @Test
    void badSizesNameTheValueTheRuleAndAFix() {
        for (String bad : new String[] {"-1", "32XB", "", "   ", "GB", "32 G B", "1e3", "1,5GB", "0x20", "NaN"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MemorySize.parse(bad), bad);
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
            assertTrue(e.getMessage().contains("powers of 1024") && e.getMessage().contains("powers of 1000"), e.getMessage());
            assertTrue(e.getMessage().contains("write e.g. 32GiB"), e.getMessage());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MemorySize.parse("0")).getMessage().contains("less than one byte"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MemorySize.parse("0.5B")).getMessage().contains("'0.5B'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MemorySize.parse("9999999TiB")).getMessage().contains("8 EiB"));
    }
}
