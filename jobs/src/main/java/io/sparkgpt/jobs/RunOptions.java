package io.sparkgpt.jobs;

import io.sparkgpt.model.TrainConfig;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * How a training run evaluates, checkpoints, seeds and resumes, one declaration for every trainer;
 * a command changes a default with {@link TrainingDefaults}.
 */
public final class RunOptions {
  @Option(
      names = "--eval-every",
      defaultValue = "25",
      paramLabel = "N",
      description =
          "Validation every N steps (on Spark: rounds of --averaging-every steps), and at the end "
              + "(default: ${DEFAULT-VALUE}).")
  public int evalEvery;

  @Option(
      names = "--eval-batches",
      defaultValue = "20",
      paramLabel = "N",
      description = "Validation micro-batches (default: ${DEFAULT-VALUE}).")
  public int evalBatches;

  @Option(
      names = "--checkpoint-every",
      defaultValue = "100",
      paramLabel = "N",
      description =
          "Checkpoint every N steps (on Spark: rounds), and at the end (default: ${DEFAULT-VALUE}).")
  public int checkpointEvery;

  @Option(
      names = "--seed",
      defaultValue = "1337",
      paramLabel = "S",
      description =
          "Seed of the initialisation, the validation split and the data order (default: ${DEFAULT-VALUE}).")
  public long seed;

  @Mixin public ResumeOptions resume;

  /** {@code base} with these flags' evaluation, checkpoint cadence, seeds and resume choice. */
  public TrainConfig applyTo(TrainConfig base) {
    return base.withEval(evalEvery, evalBatches)
        .withCheckpointEvery(checkpointEvery)
        .withSeeds(seed, seed)
        .withResume(resume.resume);
  }
}
