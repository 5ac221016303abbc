package io.tessera.cli;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * A memory size given on the command line, in whole bytes.
 *
 * <pre>
 *   text      = number [spaces] [unit]          number: digits, optionally a fraction (1.5)
 *   no unit   = GiB                             32      = 32 · 2^30 bytes (what --gpu-memory always meant)
 *   binary    = KiB MiB GiB TiB, Ki … Ti, K … T 32GiB   = 32Gi = 32G = 32 · 2^30 bytes (as java -Xmx32g)
 *   decimal   = KB  MB  GB  TB                  32GB    = 32 · 10^9 bytes         (the GB that plan prints)
 *   bytes     = B                               1024B   = 1024 bytes
 * </pre>
 *
 * <p>Units are case-insensitive ({@code 32gib}, {@code 80g}); a fraction is rounded down to a whole
 * byte; the size must be positive. A GPU sold as "80GB" has 80 GiB (81,920 MiB in {@code nvidia-smi}):
 * write {@code 80} or {@code 80GiB} for it, as {@code 80GB} would be 7% less.
 *
 * <p>Thread safety: immutable.
 *
 * @param bytes the size in bytes, &gt; 0
 * @param text what the user wrote, for messages
 */
record MemorySize(long bytes, String text) {

    /** Bytes in one GiB. */
    static final long GIB = 1L << 30;

    private static final Pattern SYNTAX = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([a-z]*)");

    private static final Map<String, Long> UNITS = Map.ofEntries(
            Map.entry("", GIB), Map.entry("b", 1L),
            Map.entry("k", 1L << 10), Map.entry("ki", 1L << 10), Map.entry("kib", 1L << 10), Map.entry("kb", 1_000L),
            Map.entry("m", 1L << 20), Map.entry("mi", 1L << 20), Map.entry("mib", 1L << 20), Map.entry("mb", 1_000_000L),
            Map.entry("g", GIB), Map.entry("gi", GIB), Map.entry("gib", GIB), Map.entry("gb", 1_000_000_000L),
            Map.entry("t", 1L << 40), Map.entry("ti", 1L << 40), Map.entry("tib", 1L << 40), Map.entry("tb", 1_000_000_000_000L));

    /** The rule, quoted by every parse error. */
    static final String RULE = "a positive number with an optional unit: no unit (GiB), K/M/G/T, Ki/Mi/Gi/Ti and KiB/MiB/GiB/TiB"
            + " are powers of 1024 (32 = 32G = 32GiB = 32·2^30 bytes), KB/MB/GB/TB are powers of 1000 (32GB = 32·10^9 bytes), B is bytes";

    /**
     * @param text e.g. {@code 32}, {@code 32GB}, {@code 32 GiB}, {@code 80g}, {@code 1.5GiB}
     * @return the size
     * @throws IllegalArgumentException naming the value, the rule and a fix
     */
    static MemorySize parse(String text) {
        String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        Matcher m = SYNTAX.matcher(t);
        Long unit = m.matches() ? UNITS.get(m.group(2)) : null;
        if (unit == null) {
            throw new IllegalArgumentException("'" + text + "' is not a memory size: " + RULE + "; write e.g. 32GiB, 32GB or 80");
        }
        long bytes;
        try {
            bytes = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(unit)).setScale(0, RoundingMode.DOWN).longValueExact();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("'" + text + "' is more bytes than fit in a long (8 EiB); write e.g. 80GiB");
        }
        if (bytes <= 0) {
            throw new IllegalArgumentException("'" + text + "' is less than one byte: " + RULE + "; write e.g. 32GiB");
        }
        return new MemorySize(bytes, text.trim());
    }

    /** @return the size in GiB (2^30 bytes) */
    double gib() {
        return bytes / (double) GIB;
    }

    /** @return the size in GB (10^9 bytes) */
    double gb() {
        return bytes / 1e9;
    }

    @Override
    public String toString() {
        return text;
    }

    /**
     * picocli's hook; picocli puts the option's name before the message ("Invalid value for option
     * '--gpu-memory': '32XB' is not a memory size: ..."). Thread safety: stateless.
     */
    static final class Converter implements CommandLine.ITypeConverter<MemorySize> {
        @Override
        public MemorySize convert(String value) {
            try {
                return parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
