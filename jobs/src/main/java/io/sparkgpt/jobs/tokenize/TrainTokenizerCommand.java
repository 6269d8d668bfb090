package io.sparkgpt.jobs.tokenize;

import io.sparkgpt.cluster.Progress;
import io.sparkgpt.cluster.SparkRuntime;
import io.sparkgpt.jobs.SparkOptions;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.jobs.input.InputOptions;
import io.sparkgpt.jobs.input.Inputs;
import io.sparkgpt.tokenizer.SplitPattern;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "train-tokenizer",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Train a byte-level BPE tokenizer (HuggingFace tokenizer.json) on a corpus.",
      "Pre-token counts are computed on the executors; merges are learned on the driver. Reports the "
          + "compression (bytes per token) on held-back documents, next to GPT-2's."
    })
public final class TrainTokenizerCommand implements Callable<Integer> {
  @Mixin SparkOptions spark;

  @Mixin InputOptions input;

  @Option(
      names = {"-o", "--output"},
      required = true,
      paramLabel = "FILE",
      description = "The tokenizer.json to write.")
  String output;

  @Option(
      names = "--vocab-size",
      required = true,
      paramLabel = "N",
      description = "Vocabulary size: 256 byte tokens + merges + special tokens.")
  int vocabSize;

  @Option(
      names = "--pattern",
      defaultValue = "gpt2",
      paramLabel = "NAME",
      description = "Pre-tokenisation pattern: gpt2 or cl100k (default: ${DEFAULT-VALUE}).")
  String pattern;

  @Option(
      names = "--special-tokens",
      split = ",",
      paramLabel = "TOKENS",
      defaultValue = "<|endoftext|>",
      description = "Special tokens, ids after the merges (default: ${DEFAULT-VALUE}).")
  List<String> specialTokens;

  @Option(
      names = "--min-frequency",
      defaultValue = "2",
      paramLabel = "N",
      description = "Pairs seen fewer times are never merged (default: ${DEFAULT-VALUE}).")
  long minFrequency;

  @Option(
      names = "--sample-fraction",
      defaultValue = "1.0",
      paramLabel = "F",
      description = "Train on this fraction of the documents (default: ${DEFAULT-VALUE}).")
  double sampleFraction;

  @Option(
      names = "--held-out-fraction",
      defaultValue = "0.01",
      paramLabel = "F",
      description =
          "Documents kept out of training to measure compression (default: ${DEFAULT-VALUE}).")
  double heldOutFraction;

  @Option(
      names = "--max-pre-tokens",
      defaultValue = "2000000",
      paramLabel = "N",
      description =
          "Distinct pre-tokens brought to the driver: the most frequent ones (default: ${DEFAULT-VALUE}).")
  int maxPreTokens;

  @Option(
      names = "--seed",
      defaultValue = "0",
      paramLabel = "S",
      description = "Seed of the sample and held-back split.")
  long seed;

  @Option(
      names = "--partitions",
      defaultValue = "0",
      paramLabel = "N",
      description = "Partitions (default: 2 x Spark's default parallelism).")
  int partitions;

  @Option(names = "--report", paramLabel = "FILE", description = "Write the figures as JSON here.")
  String report;

  @Option(names = "--overwrite", description = "Replace an existing output.")
  boolean overwrite;

  @Override
  public Integer call() throws Exception {
    if (vocabSize < 256 + specialTokens.size() + 1) {
      throw new UserError("--vocab-size must exceed 256 + the special tokens");
    }
    SplitPattern split =
        switch (pattern.toLowerCase(Locale.ROOT)) {
          case "gpt2", "r50k" -> SplitPattern.GPT2;
          case "cl100k" -> SplitPattern.CL100K;
          default -> throw new UserError("--pattern: '" + pattern + "' is not one of gpt2, cl100k");
        };
    var options =
        new TrainTokenizerJob.Options(
            input.inputs,
            input.format(),
            input.readOptions(),
            output,
            vocabSize,
            minFrequency,
            split,
            specialTokens,
            sampleFraction,
            heldOutFraction,
            maxPreTokens,
            seed,
            partitions,
            overwrite,
            report);
    Inputs.preflight(
        input.inputs, input.format(), overwrite, "--output", output, "--report", report);
    try (SparkSession session =
        SparkRuntime.start("sparkgpt train-tokenizer", spark.master, spark.verbose, spark.conf)) {
      System.err.println(
          "sparkgpt train-tokenizer: "
              + String.join(",", input.inputs)
              + " -> "
              + output
              + " (vocab "
              + vocabSize
              + ", pattern "
              + pattern
              + ") on "
              + session.sparkContext().master());
      try (Progress progress = new Progress(session.sparkContext(), System.err, 2000)) {
        TrainTokenizerJob.Result r =
            TrainTokenizerJob.run(session, options, progress::phase, System.err);
        System.out.printf(
            Locale.ROOT,
            "vocabulary %,d (%,d merges) from %,d documents, %,d distinct pre-tokens "
                + "(%,d used)%n",
            r.vocabSize(),
            r.merges(),
            r.trainDocuments(),
            r.distinctPreTokens(),
            r.preTokensUsed());
        System.out.printf(
            Locale.ROOT,
            "time: counting %.1f s, merges %.1f s%n",
            r.countSeconds(),
            r.trainSeconds());
        System.out.printf(
            Locale.ROOT,
            "held-back %,d documents (%.2f MB): %.3f bytes/token (GPT-2 r50k_base: %.3f)%n",
            r.heldOutDocuments(),
            r.heldOutBytes() / 1e6,
            r.heldOutBytesPerToken(),
            r.gpt2BytesPerToken());
        System.out.println("tokenizer: " + output);
      }
    }
    return 0;
  }
}
