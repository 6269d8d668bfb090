package io.sparkgpt.jobs.align;

import io.sparkgpt.cluster.ExampleData;
import io.sparkgpt.cluster.ParameterAveragingTrainer;
import io.sparkgpt.jobs.OptimizerOptions;
import io.sparkgpt.jobs.Preflight;
import io.sparkgpt.jobs.RoundOptions;
import io.sparkgpt.jobs.RunOptions;
import io.sparkgpt.jobs.TrainingDefaults;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.jobs.WorkerOptions;
import io.sparkgpt.model.Checkpoint;
import io.sparkgpt.model.GptConfig;
import io.sparkgpt.model.TrainConfig;
import io.sparkgpt.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Training flags shared by {@code sft}, {@code train-reward} and {@code dpo}, which all run the
 * parameter-averaging trainer from a base checkpoint, and the code that starts Spark and runs it.
 */
public final class AveragingOptions {
  /**
   * The alignment trainers' defaults: short runs from a pretrained base, a small learning rate, no
   * decay.
   */
  public static class Defaults extends TrainingDefaults {
    public Defaults() {
      super(
          "--batch-size",
          "8",
          "--steps",
          "200",
          "--lr",
          "1e-4",
          "--warmup",
          "10",
          "--weight-decay",
          "0.0",
          "--eval-every",
          "5",
          "--eval-batches",
          "10",
          "--checkpoint-every",
          "25");
    }
  }

  @Option(
      names = "--base",
      required = true,
      paramLabel = "CHECKPOINT",
      description = "The starting checkpoint (pretrained, or SFT for train-reward and dpo).")
  Path base;

  @Option(
      names = {"-d", "--data"},
      required = true,
      paramLabel = "FILE.jsonl",
      description = "The examples: JSONL lines as the description above says.")
  Path data;

  @Option(
      names = {"-o", "--output"},
      required = true,
      paramLabel = "RUN_DIR",
      description = "The run folder.")
  Path output;

  @Mixin OptimizerOptions optimizer;

  @Mixin RunOptions run;

  @Mixin WorkerOptions cluster;

  @Mixin RoundOptions rounds;

  @Option(
      names = "--val-fraction",
      defaultValue = "0.1",
      paramLabel = "F",
      description =
          "Share of the accepted examples held out for validation (default: ${DEFAULT-VALUE}).")
  double valFraction;

  @Option(
      names = "--seq-len",
      paramLabel = "T",
      description = "Tokens per example (default: the base model's block size).")
  Integer seqLen;

  /**
   * The parser of a JSONL line into an example, for a base checkpoint's tokenizer and {@code t}
   * tokens.
   */
  interface ExampleParser {
    JsonlExamples.LineParser<ExampleData.Example> of(Tokenizer tok, int t);
  }

  /** The base checkpoint and the examples written under {@code RUN_DIR/data}, ready to train. */
  record Prepared(Checkpoint base, ExampleData data) {}

  /**
   * What sft, train-reward and dpo share: the paths checked, the base checkpoint loaded, the JSONL
   * read with {@code parser} (rejections counted), split, reported in {@code
   * RUN_DIR/data/report.json} and written there.
   *
   * @param what the data's name in the summary, e.g. "sft data"
   * @param noun what the examples are called when none is usable, e.g. "training examples"
   */
  Prepared prepare(ExampleData.Kind kind, String what, String noun, ExampleParser parser)
      throws IOException {
    new Preflight.Paths()
        .input("--base", base.toString())
        .input("--data", data.toString())
        .output("--output", output.toString())
        .check();
    Checkpoint ckpt = load(base, "--base", false);
    int t = seqLen(ckpt.config());
    try (Tokenizer tok = ckpt.tokenizer()) {
      if (tok.endOfTextId() < 0) {
        throw new UserError("the base checkpoint's tokenizer has no end-of-text token");
      }
      JsonlExamples<ExampleData.Example> examples =
          JsonlExamples.read("--data", data, parser.of(tok, t));
      List<List<ExampleData.Example>> split = examples.split(valFraction, run.seed);
      Path dataDir = output.resolve("data");
      examples.writeReport(dataDir, split.get(0).size(), split.get(1).size());
      examples.summary(
          what, split.get(0).size(), split.get(1).size(), dataDir, System.err::println);
      if (split.get(0).isEmpty()) {
        throw new UserError(
            "--data "
                + data
                + ": no usable "
                + noun
                + " (see "
                + dataDir.resolve(JsonlExamples.REPORT)
                + ")");
      }
      return new Prepared(
          ckpt,
          ExampleData.write(
              kind,
              dataDir,
              split.get(0),
              split.get(1),
              t,
              ckpt.config().vocabSize(),
              tok.endOfTextId(),
              Checkpoint.tokenizerFile(base)));
    }
  }

  /** Loads a checkpoint named by {@code flag}; a problem is a one-line error. */
  static Checkpoint load(Path dir, String flag, boolean withOptimizer) {
    if (!Files.isDirectory(dir)) {
      throw new UserError(flag + " not found: " + dir);
    }
    try {
      return Checkpoint.load(dir, withOptimizer);
    } catch (IOException | IllegalArgumentException e) {
      throw new UserError("cannot load " + flag + " " + dir + ": " + e.getMessage());
    }
  }

  /** Tokens per example: --seq-len, at most the base model's block size. */
  int seqLen(GptConfig base) {
    int t = seqLen != null ? seqLen : base.blockSize();
    if (t < 2 || t > base.blockSize()) {
      throw new UserError(
          "--seq-len " + t + " must be in [2, block size " + base.blockSize() + "]");
    }
    return t;
  }

  /**
   * Starts Spark and runs the trainer on {@code job} into --output; the model is the base
   * checkpoint's config.
   */
  ParameterAveragingTrainer.Result train(
      String appName, GptConfig model, ParameterAveragingTrainer.Run job) throws IOException {
    TrainConfig tc;
    ParameterAveragingTrainer.Options o;
    try {
      tc = run.applyTo(optimizer.applyTo(TrainConfig.defaults(model)));
      o =
          new ParameterAveragingTrainer.Options(
              cluster.workers,
              rounds.averagingEvery,
              cluster.threadsPerTask(),
              run.evalEvery,
              run.checkpointEvery,
              false,
              run.resume.allowConfigChange);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
    try (SparkSession session = cluster.start(appName, Map.of())) {
      JavaSparkContext sc = JavaSparkContext.fromSparkContext(session.sparkContext());
      return ParameterAveragingTrainer.train(sc, tc, o, job, output, System.err::println);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
  }
}
