package io.sparkgpt.jobs.train;

import io.sparkgpt.cluster.DatasetLocation;
import io.sparkgpt.cluster.Dl4jSparkTrainer;
import io.sparkgpt.cluster.ParameterAveragingTrainer;
import io.sparkgpt.cluster.PretrainData;
import io.sparkgpt.cluster.SparkRuntime;
import io.sparkgpt.jobs.ResumeOptions;
import io.sparkgpt.jobs.SparkOptions;
import io.sparkgpt.jobs.Preflight;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.model.GptConfig;
import io.sparkgpt.model.Objective;
import io.sparkgpt.model.TrainConfig;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "pretrain", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Pretrain a GPT on Spark by parameter averaging from a dataset made by `tokenize`.",
        "Each round, N workers (Spark tasks) read their own samples from the dataset path, run K AdamW steps from "
            + "the broadcast parameters and optimizer state, and the driver averages parameters and moments. "
            + "Two engines do this: averaging (the model directly over Spark RDDs) and dl4j-spark "
            + "(deeplearning4j-spark's ParameterAveragingTrainingMaster, same model, data order and outputs). "
            + "Writes RUN_DIR/metrics.jsonl, RUN_DIR/loss.png, RUN_DIR/checkpoints/step-N (last 3) and "
            + "RUN_DIR/checkpoint (the latest, for `generate`); resumes from the latest checkpoint.",
        "--data is a path that is the same on every executor, or a Hadoop file system URI."})
public final class PretrainCommand implements Callable<Integer> {
  static final List<String> ENGINES = List.of("averaging", Dl4jSparkTrainer.ENGINE);

  @Option(names = {"-d", "--data"}, required = true, paramLabel = "DIR|URI|MIX",
      description = "A dataset folder (manifest.json): a path that is the same on every executor, or a Hadoop "
          + "file system URI (hdfs://, s3a://, file:///) that each executor copies to its local disk once. Or a "
          + "token-weighted mixture of them: NAME=DIR:WEIGHT[:max_epochs=E],... or a mixture .json file.")
  String data;

  @Option(names = {"-o", "--output"}, required = true, paramLabel = "RUN_DIR", description = "The run folder.")
  Path output;

  @Option(names = "--engine", defaultValue = "averaging", paramLabel = "NAME",
      description = "Distributed training engine: averaging or dl4j-spark (default: ${DEFAULT-VALUE}).")
  String engine;

  @Option(names = "--workers", defaultValue = "2", paramLabel = "N", description = "Data-parallel workers (default: ${DEFAULT-VALUE}).")
  int workers;

  @Option(names = "--averaging-every", defaultValue = "4", paramLabel = "K",
      description = "Local steps between parameter averages (default: ${DEFAULT-VALUE}).")
  int averagingEvery;

  @Option(names = "--sync-gradients",
      description = "With --averaging-every 1: average gradients instead of parameters and step AdamW on the driver "
          + "(exactly synchronous data parallelism, same as one worker with batch N x B).")
  boolean syncGradients;

  @Mixin
  ModelOptions model;

  @Option(names = "--batch-size", defaultValue = "16", paramLabel = "B",
      description = "Micro-batch per worker (default: ${DEFAULT-VALUE}); a step uses N x B x grad-accum samples.")
  int batchSize;

  @Option(names = "--grad-accum", defaultValue = "1", paramLabel = "A",
      description = "Micro-batches per step on each worker (default: ${DEFAULT-VALUE}).")
  int gradAccum;

  @Option(names = "--steps", defaultValue = "1000", paramLabel = "S", description = "Optimizer steps (default: ${DEFAULT-VALUE}).")
  long steps;

  @Option(names = "--lr", defaultValue = "1e-3", paramLabel = "LR", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
  double lr;

  @Option(names = "--min-lr", paramLabel = "LR", description = "Final learning rate of the cosine decay (default: lr / 10).")
  Double minLr;

  @Option(names = "--warmup", defaultValue = "100", paramLabel = "N", description = "Linear warm-up steps (default: ${DEFAULT-VALUE}).")
  long warmup;

  @Option(names = "--decay-steps", paramLabel = "N",
      description = "Step at which the cosine decay reaches --min-lr (default: --steps). Set it to the final step "
          + "count when a run is done in parts, so each part follows the same schedule.")
  Long decaySteps;

  @Option(names = "--weight-decay", defaultValue = "0.1", paramLabel = "W",
      description = "Decoupled weight decay on matrices (default: ${DEFAULT-VALUE}).")
  double weightDecay;

  @Option(names = "--grad-clip", defaultValue = "1.0", paramLabel = "N",
      description = "Clip each worker's global gradient norm; 0 = off (default: ${DEFAULT-VALUE}).")
  double gradClip;

  @Option(names = "--eval-every", defaultValue = "25", paramLabel = "R",
      description = "Validation loss every R rounds, and at the end (default: ${DEFAULT-VALUE}).")
  int evalEvery;

  @Option(names = "--eval-batches", defaultValue = "20", paramLabel = "N", description = "Validation micro-batches (default: ${DEFAULT-VALUE}).")
  int evalBatches;

  @Option(names = "--checkpoint-every", defaultValue = "100", paramLabel = "R",
      description = "Checkpoint every R rounds, and at the end (default: ${DEFAULT-VALUE}).")
  int checkpointEvery;

  @Option(names = "--seed", defaultValue = "1337", paramLabel = "S", description = "Initialisation and data-order seed.")
  long seed;

  @Option(names = "--threads", defaultValue = "0", paramLabel = "N",
      description = "ND4J threads per task (0 = executor cores / tasks per executor, i.e. spark.task.cpus, default 1).")
  int threads;

  @Mixin
  ResumeOptions runFolder;

  @Option(names = "--no-verify", description = "Skip the sha256 check of the dataset's shards (on the driver).")
  boolean noVerify;

  @Mixin
  SparkOptions spark;

  @Override
  public Integer call() throws Exception {
    SparkRuntime.quietLogs(spark.verbose);
    if (!ENGINES.contains(engine)) {
      throw new UserError("--engine " + engine + " is not known (known: " + String.join(", ", ENGINES) + ")");
    }
    boolean dl4j = Dl4jSparkTrainer.ENGINE.equals(engine);
    if (dl4j && (gradAccum != 1 || syncGradients || model.dropout > 0)) {
      throw new UserError("--engine dl4j-spark trains without --grad-accum, --sync-gradients and --dropout");
    }
    DataSpec spec = DataSpec.parse(data);
    if (dl4j && spec.mixture()) {
      throw new UserError("--engine dl4j-spark reads one dataset; train a mixture with --engine averaging");
    }
    Preflight.Paths paths = new Preflight.Paths().inputs("--data", spec.locations());
    paths.output("--output", output.toString()).check();
    for (String l : spec.locations()) {
      if (!DatasetLocation.isUri(l) && !Files.isRegularFile(Path.of(l).resolve("manifest.json"))) {
        throw new UserError("--data " + l + " is not a finished dataset (no manifest.json)");
      }
    }
    String master = spark.master;
    if (master == null && System.getProperty("spark.master") == null) {
      master = "local[" + workers + "]";   // every worker a concurrent task
    }
    Map<String, String> conf = new LinkedHashMap<>(spark.conf);
    int perTask = threads > 0 ? threads : Integer.parseInt(conf.getOrDefault("spark.task.cpus",
        System.getProperty("spark.task.cpus", "1")));
    // Executors on a cluster read OMP_NUM_THREADS before ND4J starts; tasks also set ND4J's counts themselves.
    conf.putIfAbsent("spark.executorEnv.OMP_NUM_THREADS", Integer.toString(perTask));
    // Each worker returns its parameters and AdamW moments (12 bytes per parameter: 1.5 GB for gpt2-124m),
    // more than Spark's default 1 GB cap on results collected by the driver.
    conf.putIfAbsent("spark.driver.maxResultSize", "0");
    if (dl4j) {
      // DL4J ships INDArrays (DataSets, parameters, updater state) through Spark's serializer: Kryo needs ND4J's
      // registrator for their off-heap buffers.
      conf.putIfAbsent("spark.kryo.registrator", "org.nd4j.kryo.Nd4jRegistrator");
    }
    ParameterAveragingTrainer.Options o;
    try {
      o = new ParameterAveragingTrainer.Options(workers, averagingEvery, perTask, evalEvery, checkpointEvery,
          syncGradients, runFolder.allowConfigChange);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
    ParameterAveragingTrainer.Result r;
    try (SparkSession session = SparkRuntime.start("sparkgpt pretrain", master, spark.verbose, conf)) {
      JavaSparkContext sc = JavaSparkContext.fromSparkContext(session.sparkContext());
      List<TokenDataset> sets = new ArrayList<>();
      List<String> workerLocations = new ArrayList<>();
      try {
        for (String l : spec.locations()) {
          Path local;
          try {
            local = DatasetLocation.localize(l, sc.hadoopConfiguration(), DatasetLocation.cacheRoot());
          } catch (IOException e) {
            throw new UserError("--data " + e.getMessage());
          }
          sets.add(TokenDataset.open(local, !noVerify));
          workerLocations.add(DatasetLocation.isUri(l) ? l : null);
        }
        TokenDataset ds = sets.get(0);
        TrainConfig tc;
        try {
          GptConfig m = model.config(ds.vocabSize());
          tc = TrainConfig.defaults(m).withBatch(batchSize, gradAccum)
              .withSteps(decaySteps != null ? decaySteps : steps, warmup).withMaxSteps(steps)
              .withLr(lr, minLr != null ? minLr : lr / 10).withEval(evalEvery, evalBatches)
              .withCheckpointEvery(checkpointEvery).withSeeds(seed, seed).withResume(runFolder.resume)
              .withRegularisation(weightDecay, gradClip);
        } catch (IllegalArgumentException e) {
          throw new UserError(e.getMessage());
        }
        System.err.println("pretrain: " + data + " -> " + output + "; model " + tc.model() + "; engine " + engine
            + ", " + workers + " workers, " + (syncGradients ? "averaging gradients every step" : "averaging parameters every "
            + averagingEvery + " steps"));
        try {
          if (dl4j) {
            r = Dl4jSparkTrainer.train(sc, tc, o, ds, workerLocations.get(0), output, System.err::println);
          } else if (spec.mixture()) {
            r = ParameterAveragingTrainer.train(sc, tc, o, new ParameterAveragingTrainer.Run("pretrain",
                PretrainData.of(sets, workerLocations, spec.sources()), Objective.lm(), null), output, System.err::println);
          } else {
            r = ParameterAveragingTrainer.train(sc, tc, o, ds, workerLocations.get(0), output, System.err::println);
          }
        } catch (IllegalArgumentException e) {
          throw new UserError(e.getMessage());
        }
      } finally {
        sets.forEach(TokenDataset::close);
      }
    }
    double lastLoss = r.rounds().isEmpty() ? Double.NaN : r.rounds().get(r.rounds().size() - 1).lastStepLoss();
    System.out.printf(Locale.ROOT, "steps %d..%d, %d rounds, final train loss %.4f, validation loss %s, %,.0f tok/s%n",
        r.firstStep(), r.lastStep(), r.rounds().size(), lastLoss,
        r.lastValLoss() == null ? "n/a" : String.format(Locale.ROOT, "%.4f", r.lastValLoss()), r.tokensPerS());
    RunReport.write(output, "sparkgpt pretrain: " + output.getFileName());
    System.out.println("run: " + output + " (metrics.jsonl, loss.png, report.html, checkpoints/, checkpoint/)");
    return 0;
  }
}
