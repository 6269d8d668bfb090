package io.sparkgpt.cluster;

import io.sparkgpt.model.Batch;
import java.io.Serializable;

/**
 * What a {@link ParameterAveragingTrainer} run trains on: examples that every worker reads itself,
 * by position, from a path visible on every host (no training data goes through the driver). An
 * instance is a small serializable description (paths and sizes) shipped with each round's task;
 * implementations open their files lazily, once per executor JVM.
 *
 * <p>Position {@code pos} of the train split is example {@code perm_e[pos mod n]} with {@code e =
 * pos / n} and {@code perm_e = SampleReader.permutation(n, e, dataSeed)}, as in the single-process
 * trainer.
 */
public interface TrainingData extends Serializable {
  /** Input positions T of every batch row (a row holds T + 1 tokens). */
  int seqLen();

  int vocabSize();

  /** The tokenizer file that checkpoints copy. */
  String tokenizerFile();

  /** Examples in the train split (samples, SFT examples or preference pairs). */
  int trainSize();

  int valSize();

  /**
   * The blend's schedule when this data is a token-weighted mixture (for the driver's metrics and
   * capacity check), else null.
   */
  default io.sparkgpt.tokenizer.dataset.Mixture mixture(long dataSeed) {
    return null;
  }

  /**
   * Settings of the data that a resumed run must keep (recorded with the training settings); none
   * by default.
   */
  default java.util.Map<String, Object> settings() {
    return java.util.Map.of();
  }

  /** Batch rows per example: 1, or 2 for preference pairs (chosen and rejected). */
  default int rowsPerExample() {
    return 1;
  }

  /**
   * The {@code b} examples at train positions {@code [firstPosition, firstPosition + b)}. Runs on
   * workers.
   */
  Batch trainBatch(long firstPosition, int b, long dataSeed);

  /** Validation examples {@code [first, first + b)} in file order, wrapping around. */
  Batch valBatch(int first, int b);
}
