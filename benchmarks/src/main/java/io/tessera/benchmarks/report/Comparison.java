package io.tessera.benchmarks.report;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tessera beside PyTorch on the same benchmark, model and degrees: the ratios the project's performance goals are stated
 * in.
 *
 * <p>Thread safety: immutable.
 *
 * @param tessera the Tessera row
 * @param pytorch the PyTorch row of the same pairing key
 */
public record Comparison(ResultRow tessera, ResultRow pytorch) {

    /** @return Tessera tokens/s ÷ PyTorch tokens/s (goal: at least 1.0 single-process) */
    public double throughputRatio() {
        return tessera.tokensPerSecond() / pytorch.tokensPerSecond();
    }

    /** @return Tessera efficiency ÷ PyTorch efficiency, NaN outside scaling runs (goal: at least 1.0 at 2 ranks) */
    public double efficiencyRatio() {
        return tessera.efficiency() / pytorch.efficiency();
    }

    /**
     * Pairs each Tessera row with the PyTorch row of the same {@link ResultRow#pairingKey()}.
     *
     * @param rows rows of both systems
     * @return the pairs, in the order of the Tessera rows; rows without a partner are left out
     */
    public static List<Comparison> of(List<ResultRow> rows) {
        Map<String, ResultRow> pytorch = new LinkedHashMap<>();
        for (ResultRow r : rows) {
            if (r.system().equals(ResultRow.PYTORCH)) {
                pytorch.put(r.pairingKey(), r);
            }
        }
        List<Comparison> out = new ArrayList<>();
        for (ResultRow r : rows) {
            ResultRow p = r.system().equals(ResultRow.TESSERA) ? pytorch.get(r.pairingKey()) : null;
            if (p != null) {
                out.add(new Comparison(r, p));
            }
        }
        return out;
    }
}
