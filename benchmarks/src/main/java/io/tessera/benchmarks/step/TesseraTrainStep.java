package io.tessera.benchmarks.step;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.tessera.core.Devices;
import io.tessera.core.Torch;
import io.tessera.core.gemm.Gemm;
import io.tessera.core.gemm.Gemms;
import io.tessera.core.tape.NodeProfile;
import io.tessera.core.tape.Tape;
import io.tessera.core.tape.Var;
import io.tessera.models.TokenBatch;
import io.tessera.models.TransformerModel;
import io.tessera.models.bert.BertForPreTraining;
import io.tessera.models.config.Architecture;
import io.tessera.models.gpt2.Gpt2LmHeadModel;
import io.tessera.optim.OptimizerKind;
import io.tessera.optim.amp.DynamicLossScaler;
import io.tessera.optim.zero.DataParallelOptimizer;
import io.tessera.optim.zero.MicroBatch;
import io.tessera.optim.zero.OptimizerFactory;
import io.tessera.parallel.ParallelContext;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * A Tessera training step of a BERT ({@link BertForPreTraining}) or GPT-2 ({@link Gpt2LmHeadModel})
 * model: what the trainer does per step, without data loading, logging or schedules.
 *
 * <pre>
 *   tape  = new Tape(step seed)              one tape (memory scope) per step
 *   mb    = dp.microBatch(tape, true)        gradient buckets start reducing as backward finishes them
 *   loss  = model.loss(tape, batch)          MLM loss (BERT) or LM loss (GPT-2)
 *   mb.backward(loss); mb.close()            seeded with S = the fp16 loss scale (1 in fp32); the protocol
 *                                            the trainer runs ({@link io.tessera.optim.zero.MicroBatch})
 *   (on a GPU: synchronise the device)
 *   dp.step(lr, maxGradNorm)                 await reductions, global-norm clip, AdamW/LAMB update
 * </pre>
 *
 * <p>The data-parallel optimizer is ZeRO stage 0 ({@code DataParallelOptimizer.create(0, ..)}): plain data
 * parallelism as PyTorch DDP, a no-op communicator at one rank. The batch is made once from the seed, so
 * that the timing holds the model's work only, as in the PyTorch reference:
 * BERT gets random ids, two segments, an all-ones attention mask and 15% of positions labelled (no
 * next-sentence labels); GPT-2 gets random ids with labels equal to the ids. Data-parallel rank r draws
 * with {@code seed + r}.
 *
 * <p>Thread safety: not thread-safe; one instance per rank, used by one thread.
 */
public final class TesseraTrainStep implements TrainStep {

    /** Gradient bucket size, PyTorch DDP's default (25 MiB). */
    public static final long BUCKET_BYTES = 25L * 1024 * 1024;

    private static final double MASK_PROBABILITY = 0.15;

    private final StepSpec spec;
    private final NDManager manager;
    private final TransformerModel model;
    private final DataParallelOptimizer optimizer;
    private final TokenBatch batch;
    private final Gemm gemm;
    private final NodeProfile profile = new NodeProfile();
    private long step;
    private long skipped;
    private float lastLoss = Float.NaN;

    private TesseraTrainStep(StepSpec spec, ParallelContext context, Device device, Gemm gemm) {
        this.spec = spec;
        this.gemm = gemm;
        this.manager = NDManager.newBaseManager(device);
        try {
            this.model = TransformerModel.of(spec.config(), context);
            this.optimizer = DataParallelOptimizer.create(0, new DataParallelOptimizer.Spec(model, spec.seed(), context,
                    optimizerFactory(spec), BUCKET_BYTES, manager)
                    .withPrecision(spec.precision(), DynamicLossScaler.Config.builder().build()));
            this.batch = randomBatch(spec, manager, spec.seed() + context.dataRank());
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /**
     * Builds a step: declares the model, allocates its parameters, gradients and optimizer state, and
     * makes the batch.
     *
     * @param spec the model, batch and optimizer
     * @param context this rank's parallel context ({@link ParallelContext#single()} for one process)
     * @return the step; close it to free everything
     */
    public static TesseraTrainStep create(StepSpec spec, ParallelContext context) {
        return create(spec, context, Device.cpu());
    }

    /**
     * Builds a step on a device. On a CUDA device the context's communicators must take CUDA tensors
     * (NCCL) unless every group has one rank, and {@link #run()} ends by synchronising the device, so
     * that a timed step includes all of its kernels.
     *
     * @param spec the model, batch, optimizer and precision
     * @param context this rank's parallel context
     * @param device where the model, optimizer state and batch live
     * @return the step; close it to free everything
     */
    public static TesseraTrainStep create(StepSpec spec, ParallelContext context, Device device) {
        return create(spec, context, device, Gemms.current());
    }

    /**
     * Builds a step whose layers use {@code gemm} for their fp32 CPU products.
     *
     * @param spec the model, batch, optimizer and precision
     * @param context this rank's parallel context
     * @param device where the model, optimizer state and batch live
     * @param gemm the product strategy (a run's {@link io.tessera.core.Compute#gemm()})
     * @return the step; close it to free everything
     */
    public static TesseraTrainStep create(StepSpec spec, ParallelContext context, Device device, Gemm gemm) {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(context, "context");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(gemm, "gemm");
        return new TesseraTrainStep(spec, context, device, gemm);
    }

    /** @return node times of the steps run so far (forward and backward by node kind, and the optimizer) */
    public NodeProfile profile() {
        return profile;
    }

    @Override
    public void run() {
        try (Tape tape = new Tape(manager, spec.seed() * 1_000_003L + step, true).gemm(gemm)) {
            tape.addTimer(profile);
            long closing;
            try (MicroBatch mb = optimizer.microBatch(tape, true)) {
                Var loss = model.loss(tape, batch);
                mb.backward(loss);
                lastLoss = loss.value().getFloat();
                closing = System.nanoTime();
            }
            profile.timed("optimizer.endMicroBatch", false, System.nanoTime() - closing);
        }
        long t0 = System.nanoTime();
        boolean skippedUpdate = optimizer.step(spec.learningRate(), spec.maxGradNorm()).skipped();
        Devices.synchronize(manager);
        profile.timed("optimizer.step", false, System.nanoTime() - t0);
        if (skippedUpdate) {
            skipped++;
        }
        step++;
    }

    @Override
    public long tokensPerStep() {
        return spec.tokensPerStep();
    }

    /**
     * Steps whose update was skipped because the gradient norm was not finite (fp16: the gradients
     * overflowed and the loss scale was halved). A skipped update is
     * cheaper than a real one, so benchmarks report the count next to the timing.
     *
     * @return the number of skipped updates so far
     */
    public long skippedUpdates() {
        return skipped;
    }

    /** @return the loss of the last step, NaN before the first */
    public float lastLoss() {
        return lastLoss;
    }

    @Override
    public String describe() {
        return model.getClass().getSimpleName() + " " + spec.label() + ", " + spec.optimizer() + ", ZeRO 0, "
                + spec.precision().flag() + " on " + manager.getDevice() + ", libtorch " + Torch.version()
                + (manager.getDevice().isGpu() ? "" : " (" + Torch.threads() + " threads)")
                + (skipped > 0 ? ", " + skipped + " of " + step + " updates skipped (non-finite gradient norm)" : "");
    }

    @Override
    public void close() {
        optimizer.close();
        manager.close();
    }

    /** The optimizer the trainer would build, with its default weight decay (0.01). */
    private static OptimizerFactory optimizerFactory(StepSpec spec) {
        return OptimizerKind.parse(spec.optimizer()).factory(0.01);
    }

    private static TokenBatch randomBatch(StepSpec spec, NDManager manager, long seed) {
        int b = spec.batch();
        int t = spec.seq();
        int v = spec.config().vocabSize();
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] ids = new int[b * t];
        int[] labels = new int[b * t];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = rnd.nextInt(v);
        }
        if (spec.config().architecture() != Architecture.BERT) {
            return TokenBatch.of(manager, b, t, ids, null, null, ids.clone(), null);
        }
        int[] types = new int[b * t];
        int[] mask = new int[b * t];
        for (int i = 0; i < ids.length; i++) {
            types[i] = (i % t) >= t / 2 ? 1 : 0;
            mask[i] = 1;
            labels[i] = rnd.nextDouble() < MASK_PROBABILITY ? ids[i] : -100;
        }
        return TokenBatch.of(manager, b, t, ids, types, mask, labels, null);
    }
}
