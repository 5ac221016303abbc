package io.tessera.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HugePagesTest {

    @Test
    void theKernelsBracketedChoiceIsTheMode() {
        assertEquals("madvise", HugePages.selectedMode("always [madvise] never\n"));
        assertEquals("always", HugePages.selectedMode("[always] madvise never"));
        assertEquals("never", HugePages.selectedMode("always madvise [never]"));
        assertEquals("odd", HugePages.selectedMode(" odd \n"));
    }

    @Test
    void theDescriptionNamesTheKernelModeAndTheTunable() {
        String d = HugePages.describe();
        assertTrue(d.contains(HugePages.kernelMode()), d);
        assertTrue(d.startsWith("yes") || d.contains("GLIBC_TUNABLES " + HugePages.glibcTunables()), d);
    }
}
