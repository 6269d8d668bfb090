package io.sparkgpt.model;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Map;

/**
 * Everything a training run needs besides the data. Defaults in {@link #defaults}; print it at job
 * start.
 *
 * @param model the model; its vocabulary must equal the dataset's (see {@link GptConfig#preset})
 * @param microBatch samples per micro-batch
 * @param gradAccum micro-batches per optimiser step (tokens per step = microBatch * gradAccum *
 *     seq_len)
 * @param maxSteps optimiser steps of the whole run
 * @param maxLr peak learning rate
 * @param minLr final learning rate of the cosine decay
 * @param warmupSteps linear warm-up steps
 * @param decaySteps step at which the cosine reaches minLr (usually maxSteps)
 * @param weightDecay AdamW decoupled weight decay (matrices only)
 * @param beta1 AdamW beta1
 * @param beta2 AdamW beta2
 * @param eps AdamW epsilon
 * @param gradClip max global gradient norm; 0 disables clipping
 * @param evalEvery evaluate the validation loss every this many steps (and at the end); 0 = only at
 *     the end
 * @param evalBatches validation micro-batches per evaluation (the first ones of the split, fixed)
 * @param checkpointEvery write {@code runDir/checkpoint} every this many steps (and at the end); 0
 *     = only at the end
 * @param logEvery print a progress line every this many steps
 * @param seed model initialisation and dropout seed
 * @param dataSeed seed of the per-epoch sample order
 * @param threads ND4J threads (0 = leave ND4J's default / OMP_NUM_THREADS)
 * @param resume continue from {@code runDir/checkpoint} when it exists
 */
public record TrainConfig(
    @JsonProperty("model") GptConfig model,
    @JsonProperty("micro_batch") int microBatch,
    @JsonProperty("grad_accum") int gradAccum,
    @JsonProperty("max_steps") long maxSteps,
    @JsonProperty("max_lr") double maxLr,
    @JsonProperty("min_lr") double minLr,
    @JsonProperty("warmup_steps") long warmupSteps,
    @JsonProperty("decay_steps") long decaySteps,
    @JsonProperty("weight_decay") double weightDecay,
    @JsonProperty("beta1") double beta1,
    @JsonProperty("beta2") double beta2,
    @JsonProperty("eps") double eps,
    @JsonProperty("grad_clip") double gradClip,
    @JsonProperty("eval_every") int evalEvery,
    @JsonProperty("eval_batches") int evalBatches,
    @JsonProperty("checkpoint_every") int checkpointEvery,
    @JsonProperty("log_every") int logEvery,
    @JsonProperty("seed") long seed,
    @JsonProperty("data_seed") long dataSeed,
    @JsonProperty("threads") int threads,
    @JsonProperty("resume") boolean resume) {

  public TrainConfig {
    if (microBatch < 1 || gradAccum < 1 || maxSteps < 0 || evalBatches < 0 || logEvery < 1) {
      throw new IllegalArgumentException(
          "micro_batch, grad_accum, log_every must be positive; max_steps, eval_batches non-negative");
    }
    if (evalEvery < 0 || checkpointEvery < 0 || threads < 0) {
      throw new IllegalArgumentException(
          "eval_every, checkpoint_every and threads must be non-negative");
    }
    new LrSchedule(maxLr, minLr, warmupSteps, Math.max(decaySteps, warmupSteps));
  }

  /**
   * nanoGPT-like defaults for {@code model}: micro-batch 16, no accumulation, 1000 steps, lr 1e-3
   * to 1e-4 with 100 warm-up steps and cosine decay to the last step, weight decay 0.1, betas (0.9,
   * 0.95), clip 1.0, evaluation every 100 steps on 20 batches, checkpoint every 500 steps.
   */
  public static TrainConfig defaults(GptConfig model) {
    return new TrainConfig(
        model, 16, 1, 1000, 1e-3, 1e-4, 100, 1000, 0.1, 0.9, 0.95, 1e-8, 1.0, 100, 20, 500, 10,
        1337, 1337, 0, true);
  }

  public LrSchedule schedule() {
    return new LrSchedule(maxLr, minLr, warmupSteps, Math.max(decaySteps, warmupSteps));
  }

  public AdamW.Hyper hyper() {
    return new AdamW.Hyper(beta1, beta2, eps, weightDecay);
  }

  public TrainConfig withSteps(long steps, long warmup) {
    return new TrainConfig(
        model,
        microBatch,
        gradAccum,
        steps,
        maxLr,
        minLr,
        warmup,
        steps,
        weightDecay,
        beta1,
        beta2,
        eps,
        gradClip,
        evalEvery,
        evalBatches,
        checkpointEvery,
        logEvery,
        seed,
        dataSeed,
        threads,
        resume);
  }

  /**
   * Changes only where the run stops (the schedule keeps its decay steps): for stopping early and
   * resuming.
   */
  public TrainConfig withMaxSteps(long steps) {
    return new TrainConfig(
        model,
        microBatch,
        gradAccum,
        steps,
        maxLr,
        minLr,
        warmupSteps,
        decaySteps,
        weightDecay,
        beta1,
        beta2,
        eps,
        gradClip,
        evalEvery,
        evalBatches,
        checkpointEvery,
        logEvery,
        seed,
        dataSeed,
        threads,
        resume);
  }

  public TrainConfig withBatch(int micro, int accum) {
    return new TrainConfig(
        model,
        micro,
        accum,
        maxSteps,
        maxLr,
        minLr,
        warmupSteps,
        decaySteps,
        weightDecay,
        beta1,
        beta2,
        eps,
        gradClip,
        evalEvery,
        evalBatches,
        checkpointEvery,
        logEvery,
        seed,
        dataSeed,
        threads,
        resume);
  }

  public TrainConfig withLr(double max, double min) {
    return new TrainConfig(
        model,
        microBatch,
        gradAccum,
        maxSteps,
        max,
        min,
        warmupSteps,
        decaySteps,
        weightDecay,
        beta1,
        beta2,
        eps,
        gradClip,
        evalEvery,
        evalBatches,
        checkpointEvery,
        logEvery,
        seed,
        dataSeed,
        threads,
        resume);
  }

  public TrainConfig withRegularisation(double weightDecay, double gradClip) {
    return new TrainConfig(
        model,
        microBatch,
        gradAccum,
        maxSteps,
        maxLr,
        minLr,
        warmupSteps,
        decaySteps,
        weightDecay,
        beta1,
        beta2,
        eps,
        gradClip,
        evalEvery,
        evalBatches,
        checkpointEvery,
        logEvery,
        seed,
        dataSeed,
        threads,
        resume);
  }

  public TrainConfig withEval(int every, int batches) {
    return new TrainConfig(
        model,
        microBatch,
        gradAccum,
        maxSteps,
        maxLr,
        minLr,
        warmupSteps,
        decaySteps,
        weightDecay,
        beta1,
        beta2,
        eps,
        gradClip,
        every,
        batches,
        checkpointEvery,
        logEvery,
        seed,
        dataSeed,
        threads,
        resume);
  }

  public TrainConfig withCheckpointEvery(int every) {
    return new TrainConfig(
        model,
        microBatch,
        gradAccum,
        maxSteps,
        maxLr,
        minLr,
        warmupSteps,
        decaySteps,
        weightDecay,
        beta1,
        beta2,
        eps,
        gradClip,
        evalEvery,
        evalBatches,
        every,
        logEvery,
        seed,
        dataSeed,
        threads,
        resume);
  }

  public TrainConfig withLogEvery(int every) {
    return new TrainConfig(
        model,
        microBatch,
        gradAccum,
        maxSteps,
        maxLr,
        minLr,
        warmupSteps,
        decaySteps,
        weightDecay,
        beta1,
        beta2,
        eps,
        gradClip,
        evalEvery,
        evalBatches,
        checkpointEvery,
        every,
        seed,
        dataSeed,
        threads,
        resume);
  }

  public TrainConfig withSeeds(long s, long data) {
    return new TrainConfig(
        model,
        microBatch,
        gradAccum,
        maxSteps,
        maxLr,
        minLr,
        warmupSteps,
        decaySteps,
        weightDecay,
        beta1,
        beta2,
        eps,
        gradClip,
        evalEvery,
        evalBatches,
        checkpointEvery,
        logEvery,
        s,
        data,
        threads,
        resume);
  }

  public TrainConfig withThreads(int t) {
    return new TrainConfig(
        model,
        microBatch,
        gradAccum,
        maxSteps,
        maxLr,
        minLr,
        warmupSteps,
        decaySteps,
        weightDecay,
        beta1,
        beta2,
        eps,
        gradClip,
        evalEvery,
        evalBatches,
        checkpointEvery,
        logEvery,
        seed,
        dataSeed,
        t,
        resume);
  }

  public TrainConfig withResume(boolean r) {
    return new TrainConfig(
        model,
        microBatch,
        gradAccum,
        maxSteps,
        maxLr,
        minLr,
        warmupSteps,
        decaySteps,
        weightDecay,
        beta1,
        beta2,
        eps,
        gradClip,
        evalEvery,
        evalBatches,
        checkpointEvery,
        logEvery,
        seed,
        dataSeed,
        threads,
        r);
  }

  @SuppressWarnings("unchecked")
  public Map<String, Object> toMap() {
    return Checkpoint.JSON.convertValue(this, Map.class);
  }
}
