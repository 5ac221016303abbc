package io.tessera.train;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * What a run shows a person: a progress bar on an interactive console (loss, tokens/s, TFLOP/s per rank
 * and memory in its message), else a line at the first step, every 10th and the last, and a line per
 * held-out evaluation.
 *
 * <pre>
 *   step 100/200  loss 7.4737  lr 1.12e-03  grad-norm 0.831  7078 tok/s  0.0205 TFLOP/s/rank  rss 571 MB
 *   held-out at step 200: MLM loss 6.5834, MLM accuracy 0.0453, NSP loss 0.6926
 * </pre>
 *
 * <p>Thread safety: not thread-safe; a listener of one trainer.
 */
public final class ConsoleProgress implements TrainingListener {

    private final PrintStream log;
    private final boolean bar;
    private ProgressBar progress;
    private int first;

    /**
     * @param log where lines go
     * @param bar whether to draw a progress bar (on standard error) when a console is attached
     */
    public ConsoleProgress(PrintStream log, boolean bar) {
        this.log = log;
        this.bar = bar && System.console() != null;
    }

    @Override
    public void onStart(int startStep, int steps) {
        first = startStep + 1;
        if (bar) {
            progress = new ProgressBarBuilder().setTaskName("train").setInitialMax(steps).startsFrom(startStep, java.time.Duration.ZERO)
                    .setStyle(ProgressBarStyle.ASCII).setConsumer(new ConsoleProgressBarConsumer(System.err)).build();
        }
    }

    @Override
    public void onStep(StepReport r) {
        if (progress != null) {
            progress.stepTo(r.step());
            progress.setExtraMessage(String.format(Locale.ROOT, " loss %.3f | %.0f tok/s | %.3f TFLOP/s/rank | %.0f MB", r.loss(),
                    r.tokensPerSecond(), r.tflopsPerRank(), r.residentMegabytes()));
            return;
        }
        if (r.step() % 10 != 0 && !r.last() && r.step() != first) {
            return;
        }
        String device = Double.isNaN(r.deviceMegabytes()) ? "" : String.format(Locale.ROOT, "  %s %.0f MB", r.device(), r.deviceMegabytes());
        String fp16 = !r.fp16() ? "" : String.format(Locale.ROOT, "  loss-scale %.0f  skipped %d%s", r.result().lossScale(), r.skippedSteps(),
                r.result().skipped() ? " (this step: overflow)" : "");
        log.printf(Locale.ROOT, "step %d/%d  loss %.4f  lr %.2e  grad-norm %.3f  %.0f tok/s  %.4f TFLOP/s/rank  rss %.0f MB%s%s%n",
                r.step(), r.steps(), r.loss(), r.lr(), r.result().gradNorm(), r.tokensPerSecond(), r.tflopsPerRank(),
                r.residentMegabytes(), device, fp16);
    }

    @Override
    public void onEvaluation(Evaluation e) {
        StringBuilder sb = new StringBuilder("held-out at step ").append(e.step()).append(':');
        if (e.termLosses().size() == 1) {
            sb.append(String.format(Locale.ROOT, " loss %.4f", e.loss()));
        } else {
            String sep = " ";
            for (Map.Entry<String, Double> t : e.termLosses().entrySet()) {
                String name = t.getKey().toUpperCase(Locale.ROOT);
                sb.append(sep).append(String.format(Locale.ROOT, "%s loss %.4f", name, t.getValue()));
                if (e.accuracies().containsKey(t.getKey())) {
                    sb.append(String.format(Locale.ROOT, ", %s accuracy %.4f", name, e.accuracies().get(t.getKey())));
                }
                sep = ", ";
            }
        }
        if (!Double.isNaN(e.perplexity())) {
            sb.append(String.format(Locale.ROOT, ", perplexity %.2f", e.perplexity()));
        }
        e.metrics().forEach((name, value) -> sb.append(String.format(Locale.ROOT, ", %s %.4f", name, value)));
        log.println(sb);
    }

    @Override
    public void onEnd() {
        if (progress != null) {
            progress.close();
        }
    }
}
