package io.tessera.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import io.tessera.core.gemm.Gemm;
import io.tessera.core.gemm.GemmBackend;
import io.tessera.core.gemm.Gemms;
import io.tessera.core.nn.ParameterBuffer;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.ModelTesting.Kind;
import io.tessera.parallel.tensor.TpTesting;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The model layers compute the same loss and gradients whichever GEMM strategy is in force: libtorch's
 * products inside autograd nodes, or OpenBLAS products in nodes with hand-written backward
 * ({@code LinearFunction}), or the faster of the two per shape (the default). At degree 1 and 2, with
 * dropout on, within float rounding.
 */
class GemmStrategyEquivalenceTest {

    private Gemm before;

    @BeforeEach
    void remember() {
        before = Gemms.current();
    }

    @AfterEach
    void restore() {
        Gemms.use(GemmBackend.parse(before.name()));
    }

    /** Loss, flat gradients, node names and parameters left without gradient, of rank 0. */
    record Run(float loss, float[] grads, List<String> nodes, List<String> noGradient) {}

    static Run run(Kind kind, int degree, GemmBackend backend) {
        Gemms.use(backend);
        var config = kind.config().toBuilder().optHiddenDropout(0.1).optAttentionDropout(0.1).build();
        return TpTesting.run(degree, pc -> {
            TransformerModel model = kind.model(config, pc);
            try (NDManager m = NDManager.newBaseManager(); ParameterBuffer buf = ParameterBuffer.allocate(model, 5, m);
                 Tape tape = new Tape(m, 21, true)) {
                Var loss = model.loss(tape, kind.batch(m));
                tape.backward(loss);
                List<String> noGradient = new ArrayList<>();
                model.namedParameters().forEach((name, p) -> {
                    if (p.grad().abs().max().getFloat() == 0 && !name.endsWith("key.bias")) {
                        noGradient.add(name);   // a key bias's exact gradient is zero: softmax ignores a per-row constant
                    }
                });
                return new Run(loss.value().getFloat(), buf.grads().toFloatArray(), new ArrayList<>(tape.nodeNames()), noGradient);
            }
        }).get(0);
    }

    @ParameterizedTest
    @EnumSource(value = Kind.class, names = "ALBERT", mode = EnumSource.Mode.EXCLUDE)
    void productNodesMatchLibtorchAutograd(Kind kind) {
        for (int degree : new int[] {1, 2}) {
            Run torch = run(kind, degree, GemmBackend.LIBTORCH);
            assertEquals(List.of(), torch.noGradient(), kind + " at degree " + degree + ": parameters backward never reached");
            check(kind, degree, torch, run(kind, degree, GemmBackend.OPENBLAS));
            check(kind, degree, torch, run(kind, degree, GemmBackend.MEASURED));   // the default: per-shape choices
        }
    }

    private static void check(Kind kind, int degree, Run torch, Run split) {
        assertTrue(split.nodes().size() > torch.nodes().size(), kind + " at degree " + degree
                + ": a non-libtorch strategy should record the products as separate nodes, got " + split.nodes());
        assertTrue(split.nodes().stream().anyMatch(n -> n.endsWith(".fc")), "no MLP product node in " + split.nodes());
        TpTesting.assertClose(new float[] {torch.loss()}, new float[] {split.loss()}, 1e-6, kind + " loss at degree " + degree);
        assertEquals(List.of(), split.noGradient(), kind + " at degree " + degree + ": parameters backward never reached");
        assertEquals(torch.grads().length, split.grads().length);
        TpTesting.assertClose(torch.grads(), split.grads(), 1e-5, kind + " gradients at degree " + degree);
    }
}
