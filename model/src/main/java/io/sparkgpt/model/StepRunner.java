package io.sparkgpt.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The body of training, without data loading or I/O: "run K optimiser steps from these parameters
 * and this optimiser state on these batches". The single-process {@link Trainer} calls it one step
 * at a time; a Spark worker calls {@link #run} with its K steps and ships the updated parameters
 * and state back.
 *
 * <pre>{@code
 * StepRunner runner = new StepRunner(cfg, seqLen, AdamW.Hyper.defaults(), schedule, 1.0);
 * Map<String, INDArray> params = GptModel.initParams(cfg, seed);     // or a checkpoint's
 * AdamW.State opt = AdamW.State.zeros(params);
 * List<StepRunner.StepStats> stats = runner.run(params, opt, stepsOfMicroBatches, seed);  // params, opt updated in place
 * }</pre>
 *
 * Every objective (language model, pairwise reward, PPO, DPO), with or without dropout, runs on the
 * explicit engine {@link Gpt} (flat buffers; the moments too). Parameters and moments passed in are
 * copied into the engine's buffers and back out after the steps, unless they are the engine's own
 * ({@link #own(Map)}, {@link #own(AdamW.State)}: what a long-running loop uses to skip the copies).
 *
 * <p>One step: gradients of every micro-batch are summed, each micro-batch's loss normalised by the
 * unmasked tokens of the whole step (so accumulation over micro-batches equals one large batch
 * exactly), the global gradient norm is clipped, and AdamW is applied with the learning rate of the
 * schedule at step {@code opt.step}.
 */
public final class StepRunner {
  private final Gpt gpt;
  private final AdamW adamw;
  private final LrSchedule schedule;
  private final double gradClip;
  private final INDArray flatM;
  private final INDArray flatV;
  private final INDArray scratch;
  private final AdamW.State ownState;

  /**
   * What one step did. {@code loss} is the mean over the step's unmasked tokens (before the
   * update).
   */
  public record StepStats(
      long step, double loss, double lr, double gradNorm, long tokens, double millis) {}

  public StepRunner(
      GptConfig cfg, int seqLen, AdamW.Hyper hyper, LrSchedule schedule, double gradClip) {
    this(cfg, seqLen, hyper, schedule, gradClip, Objective.lm());
  }

  /** As above for another {@link Objective} (the parameters then include its head). */
  public StepRunner(
      GptConfig cfg,
      int seqLen,
      AdamW.Hyper hyper,
      LrSchedule schedule,
      double gradClip,
      Objective objective) {
    this.gpt = new Gpt(cfg, seqLen, objective);
    this.adamw = new AdamW(hyper, GptModel.paramSpecs(cfg, objective.head()));
    this.schedule = schedule;
    this.gradClip = gradClip;
    long n = gpt.flatParams().length();
    flatM = Nd4j.create(cfg.nd4jType(), n);
    flatV = Nd4j.create(cfg.nd4jType(), n);
    scratch = Nd4j.create(cfg.nd4jType(), n);
    ownState = new AdamW.State(gpt.views(flatM), gpt.views(flatV), 0);
  }

  /** The engine the steps run on. */
  public Gpt engine() {
    return gpt;
  }

  public AdamW adamw() {
    return adamw;
  }

  public LrSchedule schedule() {
    return schedule;
  }

  /** The engine's own parameter arrays, loaded with {@code params}: steps on them copy nothing. */
  public Map<String, INDArray> own(Map<String, INDArray> params) {
    if (params != gpt.params()) {
      gpt.load(params);
    }
    return gpt.params();
  }

  /** The runner's own optimiser state (moment views into flat buffers), loaded with {@code opt}. */
  public AdamW.State own(AdamW.State opt) {
    if (opt != ownState) {
      copy(opt.m, ownState.m);
      copy(opt.v, ownState.v);
      ownState.step = opt.step;
    }
    return ownState;
  }

  private static void copy(Map<String, INDArray> from, Map<String, INDArray> to) {
    for (Map.Entry<String, INDArray> e : to.entrySet()) {
      INDArray a = from.get(e.getKey());
      if (a == null) {
        throw new IllegalArgumentException("no optimizer moment for " + e.getKey());
      }
      e.getValue().assign(a);
    }
  }

  /**
   * Runs one step per element of {@code steps} (each a list of micro-batches); updates params and
   * opt in place.
   */
  public List<StepStats> run(
      Map<String, INDArray> params, AdamW.State opt, List<List<Batch>> steps, long seed) {
    List<StepStats> out = new ArrayList<>();
    Map<String, INDArray> p = own(params);
    AdamW.State o = own(opt);
    for (List<Batch> micro : steps) {
      out.add(step(p, o, micro, seed));
    }
    giveBack(params, opt);
    return out;
  }

  /**
   * Copies the engine's parameters and moments back into the caller's arrays (when they are not the
   * engine's).
   */
  public void giveBack(Map<String, INDArray> params, AdamW.State opt) {
    if (params != gpt.params()) {
      gpt.store(params);
    }
    if (opt != ownState) {
      copy(ownState.m, opt.m);
      copy(ownState.v, opt.v);
      opt.step = ownState.step;
    }
  }

  /**
   * Gradients summed over the micro-batches (normalised by the step's loss units), and the mean
   * loss. The gradients are the engine's views, valid until its next pass.
   */
  public record Accumulated(double loss, Map<String, INDArray> grads, long tokens) {}

  /** Forward and backward over the micro-batches of one step; no update. */
  public Accumulated accumulate(Map<String, INDArray> params, List<Batch> micro, long dropoutSeed) {
    double count = 0;
    long tokens = 0;
    for (Batch b : micro) {
      count += gpt.lossUnits(b);
      tokens += (long) b.size() * b.seqLen();
    }
    if (count <= 0) {
      throw new IllegalArgumentException("every token (or pair) of the step is masked out");
    }
    own(params);
    gpt.zeroGrad();
    double loss = 0;
    for (int j = 0; j < micro.size(); j++) {
      // a non-negative seed per micro-batch (used only when the config has dropout)
      loss +=
          gpt.forwardBackward(micro.get(j), count, (dropoutSeed * 1_000_003L + j) & Long.MAX_VALUE);
    }
    return new Accumulated(loss, gpt.grads(), tokens);
  }

  /** One optimiser step. */
  public StepStats step(
      Map<String, INDArray> params, AdamW.State opt, List<Batch> micro, long seed) {
    long t0 = System.nanoTime();
    if (params != gpt.params() || opt != ownState) {
      return run(params, opt, List.of(micro), seed).get(0);
    }
    long stepIndex = opt.step;
    Accumulated a = accumulate(params, micro, seed ^ (stepIndex * 0x9E3779B97F4A7C15L));
    double lr = schedule.lr(stepIndex);
    long t1 = System.nanoTime();
    INDArray g = gpt.flatGrads();
    double norm = AdamW.norm(g);
    double coef = gradClip / (norm + 1e-6);
    if (gradClip > 0 && coef < 1) {
      g.muli(coef);
    }
    adamw.stepFlat(gpt.flatParams(), g, flatM, flatV, gpt.decayedParams(), scratch, opt, lr);
    gpt.addProfile(Gpt.Kernel.OPTIMIZER, System.nanoTime() - t1);
    return new StepStats(
        stepIndex + 1, a.loss(), lr, norm, a.tokens(), (System.nanoTime() - t0) / 1e6);
  }

  /**
   * Mean loss over the loss units (unmasked tokens, or pairs) of all batches (no dropout, no
   * update).
   */
  public double evaluate(Map<String, INDArray> params, List<Batch> batches) {
    double sum = 0, count = 0;
    own(params);
    for (Batch b : batches) {
      double c = gpt.lossUnits(b);
      sum += gpt.loss(b, Math.max(1e-12, c)) * c;
      count += c;
    }
    return sum / count;
  }

  /**
   * How a reward model (or a DPO policy's implicit reward) orders pairs: {@code accuracy}, the
   * fraction whose chosen reward is above the rejected one (ties count half), and the mean margin
   * {@code r_chosen - r_rejected}.
   */
  public record Pairwise(double accuracy, double meanMargin, long pairs) {}

  public Pairwise pairwise(Map<String, INDArray> params, List<Batch> batches) {
    double right = 0, margin = 0;
    long pairs = 0;
    for (Batch b : batches) {
      float[] r = rewards(params, b);
      int p = r.length / 2;
      for (int i = 0; i < p; i++) {
        right += r[i] > r[p + i] ? 1 : r[i] == r[p + i] ? 0.5 : 0;
        margin += r[i] - r[p + i];
      }
      pairs += p;
    }
    return new Pairwise(right / pairs, margin / pairs, pairs);
  }

  /**
   * The reward of each row of {@code b}: a reward model's score, read at the position where its
   * mask is 1, or a DPO policy's implicit reward (the batch carrying the reference's
   * log-probabilities).
   */
  public float[] rewards(Map<String, INDArray> params, Batch b) {
    if (!gpt.objective().pairwise()) {
      throw new IllegalStateException("rewards need the reward or the DPO objective");
    }
    own(params);
    return gpt.rewards(b);
  }
}
