package io.sparkgpt.jobs.train;

import io.sparkgpt.cluster.DatasetLocation;
import io.sparkgpt.cluster.Dl4jSparkTrainer;
import io.sparkgpt.cluster.ParameterAveragingTrainer;
import io.sparkgpt.cluster.PretrainData;
import io.sparkgpt.cluster.SparkRuntime;
import io.sparkgpt.jobs.OptimizerOptions;
import io.sparkgpt.jobs.Preflight;
import io.sparkgpt.jobs.RoundOptions;
import io.sparkgpt.jobs.RunOptions;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.jobs.WorkerOptions;
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

@Command(
    name = "pretrain",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Pretrain a GPT on Spark by parameter averaging from a dataset made by `tokenize`.",
      "Each round, N workers (Spark tasks) read their own samples from the dataset path, run K AdamW steps from "
          + "the broadcast parameters and optimizer state, and the driver averages parameters and moments. "
          + "Two engines do this: averaging (the model directly over Spark RDDs) and dl4j-spark "
          + "(deeplearning4j-spark's ParameterAveragingTrainingMaster, same model, data order and outputs). "
          + "Writes RUN_DIR/metrics.jsonl, RUN_DIR/loss.png, RUN_DIR/checkpoints/step-N (last 3) and "
          + "RUN_DIR/checkpoint (the latest, for `generate`); resumes from the latest checkpoint.",
      "--data is a path that is the same on every executor, or a Hadoop file system URI."
    })
public final class PretrainCommand implements Callable<Integer> {
  static final List<String> ENGINES = List.of("averaging", Dl4jSparkTrainer.ENGINE);

  @Option(
      names = {"-d", "--data"},
      required = true,
      paramLabel = "DIR|URI|MIX",
      description =
          "A dataset folder (manifest.json): a path that is the same on every executor, or a Hadoop "
              + "file system URI (hdfs://, s3a://, file:///) that each executor copies to its local disk once. Or a "
              + "token-weighted mixture of them: NAME=DIR:WEIGHT[:max_epochs=E],... or a mixture .json file.")
  String data;

  @Option(
      names = {"-o", "--output"},
      required = true,
      paramLabel = "RUN_DIR",
      description = "The run folder.")
  Path output;

  @Option(
      names = "--engine",
      defaultValue = "averaging",
      paramLabel = "NAME",
      description =
          "Distributed training engine: averaging or dl4j-spark (default: ${DEFAULT-VALUE}).")
  String engine;

  @Option(
      names = "--sync-gradients",
      description =
          "With --averaging-every 1: average gradients instead of parameters and step AdamW on the driver "
              + "(exactly synchronous data parallelism, same as one worker with batch N x B).")
  boolean syncGradients;

  @Mixin ModelOptions model;

  @Mixin OptimizerOptions optimizer;

  @Mixin RunOptions run;

  @Option(
      names = "--no-verify",
      description = "Skip the sha256 check of the dataset's shards (on the driver).")
  boolean noVerify;

  @Mixin WorkerOptions cluster;

  @Mixin RoundOptions rounds;

  @Override
  public Integer call() throws Exception {
    SparkRuntime.quietLogs(cluster.spark.verbose);
    if (!ENGINES.contains(engine)) {
      throw new UserError(
          "--engine " + engine + " is not known (known: " + String.join(", ", ENGINES) + ")");
    }
    boolean dl4j = Dl4jSparkTrainer.ENGINE.equals(engine);
    if (dl4j && (optimizer.gradAccum != 1 || syncGradients || model.dropout > 0)) {
      throw new UserError(
          "--engine dl4j-spark trains without --grad-accum, --sync-gradients and --dropout");
    }
    DataSpec spec = DataSpec.parse(data);
    if (dl4j && spec.mixture()) {
      throw new UserError(
          "--engine dl4j-spark reads one dataset; train a mixture with --engine averaging");
    }
    Preflight.Paths paths = new Preflight.Paths().inputs("--data", spec.locations());
    paths.output("--output", output.toString()).check();
    for (String l : spec.locations()) {
      if (!DatasetLocation.isUri(l) && !Files.isRegularFile(Path.of(l).resolve("manifest.json"))) {
        throw new UserError("--data " + l + " is not a finished dataset (no manifest.json)");
      }
    }
    Map<String, String> conf = new LinkedHashMap<>();
    // Each worker returns its parameters and AdamW moments (12 bytes per parameter: 1.5 GB for
    // gpt2-124m),
    // more than Spark's default 1 GB cap on results collected by the driver.
    conf.put("spark.driver.maxResultSize", "0");
    if (dl4j) {
      // DL4J ships INDArrays (DataSets, parameters, updater state) through Spark's serializer: Kryo
      // needs ND4J's
      // registrator for their off-heap buffers.
      conf.put("spark.kryo.registrator", "org.nd4j.kryo.Nd4jRegistrator");
    }
    ParameterAveragingTrainer.Options o;
    try {
      o =
          new ParameterAveragingTrainer.Options(
              cluster.workers,
              rounds.averagingEvery,
              cluster.threadsPerTask(),
              run.evalEvery,
              run.checkpointEvery,
              syncGradients,
              run.resume.allowConfigChange);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
    ParameterAveragingTrainer.Result r;
    try (SparkSession session = cluster.start("pretrain", conf)) {
      JavaSparkContext sc = JavaSparkContext.fromSparkContext(session.sparkContext());
      List<TokenDataset> sets = new ArrayList<>();
      List<String> workerLocations = new ArrayList<>();
      try {
        for (String l : spec.locations()) {
          Path local;
          try {
            local =
                DatasetLocation.localize(l, sc.hadoopConfiguration(), DatasetLocation.cacheRoot());
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
          tc = run.applyTo(optimizer.applyTo(TrainConfig.defaults(m)));
        } catch (IllegalArgumentException e) {
          throw new UserError(e.getMessage());
        }
        System.err.println(
            "pretrain: "
                + data
                + " -> "
                + output
                + "; model "
                + tc.model()
                + "; engine "
                + engine
                + ", "
                + cluster.workers
                + " workers, "
                + (syncGradients
                    ? "averaging gradients every step"
                    : "averaging parameters every " + rounds.averagingEvery + " steps"));
        try {
          if (dl4j) {
            r =
                Dl4jSparkTrainer.train(
                    sc, tc, o, ds, workerLocations.get(0), output, System.err::println);
          } else if (spec.mixture()) {
            r =
                ParameterAveragingTrainer.train(
                    sc,
                    tc,
                    o,
                    new ParameterAveragingTrainer.Run(
                        "pretrain",
                        PretrainData.of(sets, workerLocations, spec.sources()),
                        Objective.lm(),
                        null),
                    output,
                    System.err::println);
          } else {
            r =
                ParameterAveragingTrainer.train(
                    sc, tc, o, ds, workerLocations.get(0), output, System.err::println);
          }
        } catch (IllegalArgumentException e) {
          throw new UserError(e.getMessage());
        }
      } finally {
        sets.forEach(TokenDataset::close);
      }
    }
    double lastLoss =
        r.rounds().isEmpty() ? Double.NaN : r.rounds().get(r.rounds().size() - 1).lastStepLoss();
    System.out.printf(
        Locale.ROOT,
        "steps %d..%d, %d rounds, final train loss %.4f, validation loss %s, %,.0f tok/s%n",
        r.firstStep(),
        r.lastStep(),
        r.rounds().size(),
        lastLoss,
        r.lastValLoss() == null ? "n/a" : String.format(Locale.ROOT, "%.4f", r.lastValLoss()),
        r.tokensPerS());
    RunReport.write(output, "sparkgpt pretrain: " + output.getFileName());
    System.out.println(
        "run: " + output + " (metrics.jsonl, loss.png, report.html, checkpoints/, checkpoint/)");
    return 0;
  }
}
