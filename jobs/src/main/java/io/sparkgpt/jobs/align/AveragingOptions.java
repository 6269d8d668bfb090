package io.sparkgpt.jobs.align;

import io.sparkgpt.cluster.ExampleData;
import io.sparkgpt.cluster.ParameterAveragingTrainer;
import io.sparkgpt.cluster.SparkRuntime;
import io.sparkgpt.jobs.Preflight;
import io.sparkgpt.jobs.ResumeOptions;
import io.sparkgpt.jobs.SparkOptions;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.model.Checkpoint;
import io.sparkgpt.model.GptConfig;
import io.sparkgpt.model.TrainConfig;
import io.sparkgpt.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Training flags shared by {@code sft} and {@code train-reward}, which both run the parameter-averaging trainer
 * from a base checkpoint, and the code that starts Spark and runs it.
 */
public final class AveragingOptions {
  @Option(names = "--workers", defaultValue = "2", paramLabel = "N", description = "Data-parallel workers (default: ${DEFAULT-VALUE}).")
  int workers;

  @Option(names = "--averaging-every", defaultValue = "4", paramLabel = "K",
      description = "Local steps between parameter averages (default: ${DEFAULT-VALUE}).")
  int averagingEvery;

  @Option(names = "--batch-size", defaultValue = "8", paramLabel = "B",
      description = "Examples per worker and micro-batch (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--grad-accum", defaultValue = "1", paramLabel = "A", description = "Micro-batches per step (default: ${DEFAULT-VALUE}).")
  int gradAccum;

  @Option(names = "--steps", defaultValue = "200", paramLabel = "S", description = "Optimizer steps (default: ${DEFAULT-VALUE}).")
  long steps;

  @Option(names = "--lr", defaultValue = "1e-4", paramLabel = "LR", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
  double lr;

  @Option(names = "--min-lr", paramLabel = "LR", description = "Final learning rate of the cosine decay (default: lr / 10).")
  Double minLr;

  @Option(names = "--warmup", defaultValue = "10", paramLabel = "N", description = "Warm-up steps (default: ${DEFAULT-VALUE}).")
  long warmup;

  @Option(names = "--weight-decay", defaultValue = "0.0", paramLabel = "W",
      description = "Decoupled weight decay on matrices (default: ${DEFAULT-VALUE}).")
  double weightDecay;

  @Option(names = "--grad-clip", defaultValue = "1.0", paramLabel = "N", description = "Gradient norm clip; 0 = off (default: ${DEFAULT-VALUE}).")
  double gradClip;

  @Option(names = "--val-fraction", defaultValue = "0.1", paramLabel = "F",
      description = "Share of the accepted examples held out for validation (default: ${DEFAULT-VALUE}).")
  double valFraction;

  @Option(names = "--seq-len", paramLabel = "T", description = "Tokens per example (default: the base model's block size).")
  Integer seqLen;

  @Option(names = "--eval-every", defaultValue = "5", paramLabel = "R",
      description = "Validation every R rounds, and at the end (default: ${DEFAULT-VALUE}).")
  int evalEvery;

  @Option(names = "--eval-batches", defaultValue = "10", paramLabel = "N", description = "Validation micro-batches (default: ${DEFAULT-VALUE}).")
  int evalBatches;

  @Option(names = "--checkpoint-every", defaultValue = "25", paramLabel = "R",
      description = "Checkpoint every R rounds, and at the end (default: ${DEFAULT-VALUE}).")
  int checkpointEvery;

  @Option(names = "--seed", defaultValue = "1337", paramLabel = "S", description = "Split, head initialisation and data-order seed.")
  long seed;

  @Option(names = "--threads", defaultValue = "0", paramLabel = "N",
      description = "ND4J threads per task (0 = spark.task.cpus, default 1).")
  int threads;

  @Mixin
  ResumeOptions runFolder;

  @Mixin
  SparkOptions spark;

  /** The parser of a JSONL line into an example, for a base checkpoint's tokenizer and {@code t} tokens. */
  interface ExampleParser {
    JsonlExamples.LineParser<ExampleData.Example> of(Tokenizer tok, int t);
  }

  /** The base checkpoint and the examples written under {@code RUN_DIR/data}, ready to train. */
  record Prepared(Checkpoint base, ExampleData data) {
  }

  /**
   * What sft and train-reward share: the paths checked, the base checkpoint loaded, the JSONL read with
   * {@code parser} (rejections counted), split, reported in {@code RUN_DIR/data/report.json} and written there.
   *
   * @param what the data's name in the summary, e.g. "sft data"
   * @param noun what the examples are called when none is usable, e.g. "training examples"
   */
  Prepared prepare(Path base, Path data, Path output, ExampleData.Kind kind, String what, String noun,
                   ExampleParser parser) throws IOException {
    new Preflight.Paths().input("--base", base.toString()).input("--data", data.toString())
        .output("--output", output.toString()).check();
    Checkpoint ckpt = load(base, "--base", false);
    int t = seqLen(ckpt.config());
    try (Tokenizer tok = ckpt.tokenizer()) {
      if (tok.endOfTextId() < 0) {
        throw new UserError("the base checkpoint's tokenizer has no end-of-text token");
      }
      JsonlExamples<ExampleData.Example> examples = JsonlExamples.read("--data", data, parser.of(tok, t));
      List<List<ExampleData.Example>> split = examples.split(valFraction, seed);
      Path dataDir = output.resolve("data");
      examples.writeReport(dataDir, split.get(0).size(), split.get(1).size());
      examples.summary(what, split.get(0).size(), split.get(1).size(), dataDir, System.err::println);
      if (split.get(0).isEmpty()) {
        throw new UserError("--data " + data + ": no usable " + noun + " (see " + dataDir.resolve(JsonlExamples.REPORT) + ")");
      }
      return new Prepared(ckpt, ExampleData.write(kind, dataDir, split.get(0), split.get(1), t,
          ckpt.config().vocabSize(), tok.endOfTextId(), Checkpoint.tokenizerFile(base)));
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
      throw new UserError("--seq-len " + t + " must be in [2, block size " + base.blockSize() + "]");
    }
    return t;
  }


  /** Starts Spark and runs the trainer on {@code run}; the model is the base checkpoint's config. */
  ParameterAveragingTrainer.Result train(String appName, GptConfig model, ParameterAveragingTrainer.Run run, Path output)
      throws IOException {
    SparkRuntime.quietLogs(spark.verbose);
    TrainConfig tc;
    ParameterAveragingTrainer.Options o;
    String master = spark.master;
    if (master == null && System.getProperty("spark.master") == null) {
      master = "local[" + workers + "]";
    }
    Map<String, String> conf = new LinkedHashMap<>(spark.conf);
    int perTask = threads > 0 ? threads : Integer.parseInt(conf.getOrDefault("spark.task.cpus",
        System.getProperty("spark.task.cpus", "1")));
    conf.putIfAbsent("spark.executorEnv.OMP_NUM_THREADS", Integer.toString(perTask));
    try {
      tc = TrainConfig.defaults(model).withBatch(batchSize, gradAccum).withSteps(steps, warmup)
          .withLr(lr, minLr != null ? minLr : lr / 10).withEval(evalEvery, evalBatches)
          .withCheckpointEvery(checkpointEvery).withSeeds(seed, seed).withResume(runFolder.resume)
          .withRegularisation(weightDecay, gradClip);
      o = new ParameterAveragingTrainer.Options(workers, averagingEvery, perTask, evalEvery, checkpointEvery, false,
          runFolder.allowConfigChange);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
    try (SparkSession session = SparkRuntime.start("sparkgpt " + appName, master, spark.verbose, conf)) {
      JavaSparkContext sc = JavaSparkContext.fromSparkContext(session.sparkContext());
      return ParameterAveragingTrainer.train(sc, tc, o, run, output, System.err::println);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
  }
}
