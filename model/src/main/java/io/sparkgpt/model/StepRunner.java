package io.sparkgpt.model;

import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The body of training, without data loading or I/O: "run K optimiser steps from these parameters and this
 * optimiser state on these batches". The single-process {@link Trainer} calls it one step at a time; a Spark
 * worker calls {@link #run} with its K steps and ships the updated parameters and state back.
 *
 * <pre>{@code
 * StepRunner runner = new StepRunner(cfg, seqLen, AdamW.Hyper.defaults(), schedule, 1.0);
 * Map<String, INDArray> params = GptModel.initParams(cfg, seed);     // or a checkpoint's
 * AdamW.State opt = AdamW.State.zeros(params);
 * List<StepRunner.StepStats> stats = runner.run(params, opt, stepsOfMicroBatches, seed);  // params, opt updated in place
 * }</pre>
 *
 * One step: gradients of every micro-batch are summed, each micro-batch's loss normalised by the unmasked tokens
 * of the whole step (so accumulation over micro-batches equals one large batch exactly), the global gradient
 * norm is clipped, and AdamW is applied with the learning rate of the schedule at step {@code opt.step}.
 */
public final class StepRunner {
    private final GptModel model;
    private final AdamW adamw;
    private final LrSchedule schedule;
    private final double gradClip;

    /** What one step did. {@code loss} is the mean over the step's unmasked tokens (before the update). */
    public record StepStats(long step, double loss, double lr, double gradNorm, long tokens, double millis) {
    }

    public StepRunner(GptConfig cfg, int seqLen, AdamW.Hyper hyper, LrSchedule schedule, double gradClip) {
        this(cfg, seqLen, hyper, schedule, gradClip, Objective.lm());
    }

    /** As above for another {@link Objective} (the parameters then include its head). */
    public StepRunner(GptConfig cfg, int seqLen, AdamW.Hyper hyper, LrSchedule schedule, double gradClip,
                      Objective objective) {
        this.model = new GptModel(cfg, seqLen, objective);
        this.adamw = new AdamW(hyper, GptModel.paramSpecs(cfg, objective.head()));
        this.schedule = schedule;
        this.gradClip = gradClip;
    }

    public GptModel model() {
        return model;
    }

    public AdamW adamw() {
        return adamw;
    }

    public LrSchedule schedule() {
        return schedule;
    }

    /** Runs one step per element of {@code steps} (each a list of micro-batches); updates params and opt in place. */
    public List<StepStats> run(Map<String, INDArray> params, AdamW.State opt, List<List<Batch>> steps, long seed) {
        List<StepStats> out = new ArrayList<>();
        for (List<Batch> micro : steps) {
            out.add(step(params, opt, micro, seed));
        }
        return out;
    }

    /** Gradients summed over the micro-batches (normalised by the total unmasked tokens), and the mean loss. */
    public record Accumulated(double loss, Map<String, INDArray> grads, long tokens) {
    }

    /** Forward and backward over the micro-batches of one step; no update. */
    public Accumulated accumulate(Map<String, INDArray> params, List<Batch> micro, long dropoutSeed) {
        if (model.params() != params) {
            model.setParams(params);
        }
        double count = 0;
        long tokens = 0;
        for (Batch b : micro) {
            count += model.lossUnits(b);
            tokens += (long) b.size() * b.seqLen();
        }
        if (count <= 0) {
            throw new IllegalArgumentException("every token (or pair) of the step is masked out");
        }
        Map<String, INDArray> acc = new LinkedHashMap<>();
        double loss = 0;
        for (int j = 0; j < micro.size(); j++) {
            GptModel.LossAndGrads lg = model.lossAndGradients(micro.get(j), count, dropoutSeed * 1_000_003L + j);
            loss += lg.loss();
            for (Map.Entry<String, INDArray> e : lg.grads().entrySet()) {
                INDArray a = acc.get(e.getKey());
                if (a == null) {
                    acc.put(e.getKey(), e.getValue().dup());
                } else {
                    a.addi(e.getValue());
                }
            }
        }
        return new Accumulated(loss, acc, tokens);
    }

    /** One optimiser step. */
    public StepStats step(Map<String, INDArray> params, AdamW.State opt, List<Batch> micro, long seed) {
        long t0 = System.nanoTime();
        long stepIndex = opt.step;
        Accumulated a = accumulate(params, micro, seed ^ (stepIndex * 0x9E3779B97F4A7C15L));
        double norm = AdamW.clipGlobalNorm(a.grads(), gradClip);
        double lr = schedule.lr(stepIndex);
        adamw.step(params, a.grads(), opt, lr);
        return new StepStats(stepIndex + 1, a.loss(), lr, norm, a.tokens(), (System.nanoTime() - t0) / 1e6);
    }

    /** Mean loss over the loss units (unmasked tokens, or pairs) of all batches (no dropout, no update). */
    public double evaluate(Map<String, INDArray> params, List<Batch> batches) {
        if (model.params() != params) {
            model.setParams(params);
        }
        double sum = 0, count = 0;
        for (Batch b : batches) {
            double c = model.lossUnits(b);
            sum += model.loss(b) * c;
            count += c;
        }
        return sum / count;
    }

    /** Reward model: the fraction of pairs whose chosen reward is above the rejected one (ties count half). */
    public double pairwiseAccuracy(Map<String, INDArray> params, List<Batch> batches) {
        if (model.params() != params) {
            model.setParams(params);
        }
        double right = 0;
        long pairs = 0;
        for (Batch b : batches) {
            float[] r = model.rewards(b);
            int p = r.length / 2;
            for (int i = 0; i < p; i++) {
                right += r[i] > r[p + i] ? 1 : r[i] == r[p + i] ? 0.5 : 0;
            }
            pairs += p;
        }
        return right / pairs;
    }
}
