package io.tessera.optim;

import io.tessera.optim.zero.OptimizerFactory;
import java.util.Locale;

/**
 * The optimizers by name, for options ({@code --optimizer adamw|lamb}) and configurations, each with the
 * factory a ZeRO stage uses to build one optimizer per flat range.
 *
 * <pre>{@code
 * OptimizerFactory f = OptimizerKind.parse("lamb").factory(0.01);
 * }</pre>
 *
 * <p>Thread safety: immutable enum.
 */
public enum OptimizerKind {
    /** {@link AdamW}: Adam with decoupled weight decay. */
    ADAMW,
    /** {@link Lamb}: layer-wise trust ratios over AdamW's update (norms over the whole tensor at any layout). */
    LAMB;

    /**
     * @param weightDecay decoupled weight decay of the tensors that take it (not biases or LayerNorm gains)
     * @return a factory of this optimizer with otherwise default hyper-parameters
     */
    public OptimizerFactory factory(double weightDecay) {
        return switch (this) {
            case ADAMW -> {
                AdamW.Config c = AdamW.Config.builder().weightDecay(weightDecay).build();
                yield (range, norms, m) -> new AdamW(c, range, m);
            }
            case LAMB -> {
                Lamb.Config c = Lamb.Config.builder().weightDecay(weightDecay).build();
                yield (range, norms, m) -> new Lamb(c, range, m, norms);
            }
        };
    }

    /** @return the option spelling: {@code adamw} or {@code lamb} */
    public String optionName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @param text {@code adamw} or {@code lamb}, any case
     * @return the optimizer
     * @throws IllegalArgumentException naming the accepted values
     */
    public static OptimizerKind parse(String text) {
        for (OptimizerKind k : values()) {
            if (k.optionName().equals(text == null ? null : text.trim().toLowerCase(Locale.ROOT))) {
                return k;
            }
        }
        throw new IllegalArgumentException("optimizer '" + text + "': expected adamw or lamb");
    }
}
