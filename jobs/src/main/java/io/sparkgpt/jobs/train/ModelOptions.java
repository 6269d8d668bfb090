package io.sparkgpt.jobs.train;

import io.sparkgpt.model.GptConfig;
import picocli.CommandLine.Option;

/** The model flags of the training commands: a preset and overrides of its shape. */
public final class ModelOptions {
  @Option(
      names = "--preset",
      defaultValue = "tiny",
      paramLabel = "NAME",
      description =
          "tiny (T=128, d=128, L=4, H=4), small (T=256, d=256, L=6, H=8) or gpt2-124m (default: ${DEFAULT-VALUE}).")
  String preset;

  @Option(
      names = "--block-size",
      paramLabel = "T",
      description = "Context length (default: the preset's).")
  Integer blockSize;

  @Option(names = "--d-model", paramLabel = "D", description = "Width (default: the preset's).")
  Integer dModel;

  @Option(
      names = "--layers",
      paramLabel = "L",
      description = "Transformer blocks (default: the preset's).")
  Integer layers;

  @Option(
      names = "--heads",
      paramLabel = "H",
      description = "Attention heads (default: the preset's).")
  Integer heads;

  @Option(
      names = "--dropout",
      defaultValue = "0",
      paramLabel = "P",
      description = "Dropout (default: ${DEFAULT-VALUE}).")
  double dropout;

  /** The preset with the given overrides, for a tokenizer of {@code vocabSize} tokens. */
  GptConfig config(int vocabSize) {
    GptConfig p = GptConfig.preset(preset, vocabSize);
    return new GptConfig(
        vocabSize,
        blockSize != null ? blockSize : p.blockSize(),
        dModel != null ? dModel : p.dModel(),
        layers != null ? layers : p.nLayer(),
        heads != null ? heads : p.nHead(),
        p.mlpRatio(),
        dropout,
        p.bias(),
        p.tied(),
        p.dtype());
  }
}
