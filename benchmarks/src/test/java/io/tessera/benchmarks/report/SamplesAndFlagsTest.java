package io.tessera.benchmarks.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SamplesAndFlagsTest {

    @Test
    void statistics() {
        Samples s = new Samples(List.of(3.0, 1.0, 2.0, 10.0));
        assertEquals(2.5, s.median());
        assertEquals(4.0, s.mean());
        assertEquals(1.0, s.min());
        assertEquals(10.0, s.max());
        assertEquals(2.0, new Samples(List.of(3.0, 1.0, 2.0)).median());
        assertThrows(IllegalArgumentException.class, () -> new Samples(List.of()));
        assertThrows(IllegalArgumentException.class, () -> new Samples(List.of(1.0, 0.0)));
    }

    @Test
    void timeRunsWarmupThenReps() {
        int[] calls = {0};
        Samples s = Samples.time(2, 3, () -> calls[0]++);
        assertEquals(5, calls[0]);
        assertEquals(3, s.count());
    }

    @Test
    void flagsParseValuesSwitchesAndLists() {
        Flags f = Flags.parse(new String[] {"--batch", "8", "--dp=1,2,4", "--no-reference", "--json", "/tmp/x.json"},
                Set.of("batch", "dp", "json", "timeout"), Set.of("reference", "help"));
        assertEquals(8, f.integer("batch", 1));
        assertEquals(List.of(1, 2, 4), f.integers("dp", List.of()));
        assertFalse(f.flag("reference", true));
        assertFalse(f.help());
        assertEquals(Path.of("/tmp/x.json"), f.path("json", null));
        assertEquals(Duration.ofSeconds(5), f.seconds("timeout", Duration.ofSeconds(5)));
        assertNull(Flags.parse(new String[0], Set.of("json"), Set.of()).path("json", null));
    }

    @Test
    void flagsNameTheProblem() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> Flags.parse(new String[] {"--bach", "8"}, Set.of("batch"), Set.of()));
        assertTrue(unknown.getMessage().contains("unknown option --bach; known options: --batch"), unknown.getMessage());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> Flags.parse(new String[] {"--batch", "eight"}, Set.of("batch"), Set.of()).integer("batch", 1));
        assertTrue(bad.getMessage().contains("--batch eight"), bad.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Flags.parse(new String[] {"--batch"}, Set.of("batch"), Set.of()));
    }
}
