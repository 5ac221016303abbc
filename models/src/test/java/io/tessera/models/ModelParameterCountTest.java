package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tessera.core.nn.Parameter;
import io.tessera.models.ModelTesting.Kind;
import io.tessera.models.config.ModelVariant;
import io.tessera.models.config.ParameterCount;
import io.tessera.models.config.TransformerConfig;
import io.tessera.parallel.tensor.TpTesting;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link ParameterCount}'s formulas are the models' parameters: the checkpoint tensors of each model
 * sum to {@code total()}, and one rank at degree 4 holds {@code perTensorParallelRank()} of the padded
 * count.
 */
class ModelParameterCountTest {

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = "ALBERT", mode = EnumSource.Mode.EXCLUDE)
    void modelsHoldWhatParameterCountCounts(Kind kind) {
        TransformerConfig c = kind.config().toBuilder().optMakeVocabSizeDivisibleBy(128).build();
        long checkpoint = TpTesting.run(1, pc -> {
            long n = 0;
            for (HfTensor t : TransformerModel.of(c, pc).hfTensors()) {
                n += t.layout().hfShape(t.parameter().fullShape()).size();
            }
            return n;
        }).get(0);
        assertEquals(ParameterCount.of(c, ModelVariant.PRETRAINING_MODEL).total(), checkpoint, kind + " checkpoint");
        List<Long> perRank = TpTesting.run(4, pc -> {
            long n = 0;
            for (Parameter p : TransformerModel.of(c, pc).namedParameters().values()) {
                n += p.numel();
            }
            return n;
        });
        long expected = ParameterCount.ofPaddedVocab(c, ModelVariant.PRETRAINING_MODEL, 4).perTensorParallelRank();
        for (long n : perRank) {
            assertEquals(expected, n, kind + " parameters on one of 4 ranks");
        }
    }
}
