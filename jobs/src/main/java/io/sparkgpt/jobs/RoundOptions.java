package io.sparkgpt.jobs;

import picocli.CommandLine.Option;

/**
 * How often the parameter-averaging trainers ({@code pretrain}, {@code sft}, {@code train-reward},
 * {@code dpo}) average.
 */
public final class RoundOptions {
  @Option(
      names = "--averaging-every",
      defaultValue = "4",
      paramLabel = "K",
      description = "Local steps between parameter averages (default: ${DEFAULT-VALUE}).")
  public int averagingEvery;
}
