package io.sparkgpt.jobs;

import io.sparkgpt.model.TrainConfig;
import picocli.CommandLine.Option;

/**
 * The optimiser and its schedule, one declaration for every trainer ({@code train-local}, {@code
 * pretrain}, {@code sft}, {@code train-reward}, {@code dpo}); a command changes a default with
 * {@link TrainingDefaults}.
 */
public final class OptimizerOptions {
  @Option(
      names = "--batch-size",
      defaultValue = "16",
      paramLabel = "B",
      description = "Sequences per micro-batch, on each worker (default: ${DEFAULT-VALUE}).")
  public int batchSize;

  @Option(
      names = "--grad-accum",
      defaultValue = "1",
      paramLabel = "A",
      description = "Micro-batches per optimizer step, on each worker (default: ${DEFAULT-VALUE}).")
  public int gradAccum;

  @Option(
      names = "--steps",
      defaultValue = "1000",
      paramLabel = "N",
      description = "Optimizer steps (default: ${DEFAULT-VALUE}).")
  public long steps;

  @Option(
      names = "--lr",
      defaultValue = "1e-3",
      paramLabel = "LR",
      description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
  public double lr;

  @Option(
      names = "--min-lr",
      paramLabel = "LR",
      description = "Final learning rate of the cosine decay (default: lr / 10).")
  public Double minLr;

  @Option(
      names = "--warmup",
      defaultValue = "100",
      paramLabel = "N",
      description = "Linear warm-up steps (default: ${DEFAULT-VALUE}).")
  public long warmup;

  @Option(
      names = "--decay-steps",
      paramLabel = "N",
      description =
          "Step at which the cosine decay reaches --min-lr (default: --steps). Set it to the final step "
              + "count when a run is done in parts, so each part follows the same schedule.")
  public Long decaySteps;

  @Option(
      names = "--weight-decay",
      defaultValue = "0.1",
      paramLabel = "W",
      description =
          "Decoupled weight decay on matrices (not biases, LayerNorm gains or embeddings) (default: ${DEFAULT-VALUE}).")
  public double weightDecay;

  @Option(
      names = "--grad-clip",
      defaultValue = "1.0",
      paramLabel = "N",
      description =
          "Clip the global gradient norm (each worker its own); 0 = off (default: ${DEFAULT-VALUE}).")
  public double gradClip;

  /** {@code base} with these flags' batch, schedule and regularisation. */
  public TrainConfig applyTo(TrainConfig base) {
    return base.withBatch(batchSize, gradAccum)
        .withSteps(decaySteps != null ? decaySteps : steps, warmup)
        .withMaxSteps(steps)
        .withLr(lr, minLr != null ? minLr : lr / 10)
        .withRegularisation(weightDecay, gradClip);
  }
}
