package io.sparkgpt.jobs.train;

import io.sparkgpt.cluster.SparkRuntime;
import io.sparkgpt.jobs.OptimizerOptions;
import io.sparkgpt.jobs.Preflight;
import io.sparkgpt.jobs.RunOptions;
import io.sparkgpt.jobs.TrainingDefaults;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.model.GptConfig;
import io.sparkgpt.model.TrainConfig;
import io.sparkgpt.model.Trainer;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "train-local",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    defaultValueProvider = TrainLocalCommand.Defaults.class,
    description = {
      "Pretrain a GPT on one machine from a dataset made by `tokenize` (no Spark).",
      "Prints step, loss, tokens/s, learning rate and ETA; writes RUN_DIR/metrics.jsonl, RUN_DIR/loss.png and "
          + "RUN_DIR/checkpoint/ (safetensors), and resumes from that checkpoint when it exists."
    })
public final class TrainLocalCommand implements Callable<Integer> {
  /** One process: evaluation and checkpoints count steps, not rounds. */
  public static final class Defaults extends TrainingDefaults {
    public Defaults() {
      super("--eval-every", "100", "--checkpoint-every", "500");
    }
  }

  @Option(
      names = {"-d", "--data"},
      required = true,
      paramLabel = "DIR|MIX",
      description =
          "A dataset folder (manifest.json), or a token-weighted mixture of them: "
              + "NAME=DIR:WEIGHT[:max_epochs=E],... or a mixture .json file (see the README).")
  String data;

  @Option(
      names = {"-o", "--output"},
      required = true,
      paramLabel = "RUN_DIR",
      description = "The run folder.")
  Path output;

  @Mixin ModelOptions model;

  @Mixin OptimizerOptions optimizer;

  @Mixin RunOptions run;

  @Option(
      names = "--log-every",
      defaultValue = "10",
      paramLabel = "N",
      description = "Progress line every N steps (default: ${DEFAULT-VALUE}).")
  int logEvery;

  @Option(
      names = "--threads",
      defaultValue = "0",
      paramLabel = "N",
      description = "ND4J threads (0 = ND4J's default, or OMP_NUM_THREADS).")
  int threads;

  @Option(names = "--no-verify", description = "Skip the sha256 check of the dataset's shards.")
  boolean noVerify;

  @Option(
      names = {"-v", "--verbose"},
      description = "Show ND4J's INFO logs and full stack traces.")
  boolean verbose;

  @Override
  public Integer call() throws Exception {
    SparkRuntime.quietLogs(verbose);
    DataSpec spec = DataSpec.parse(data);
    Preflight.Paths paths = new Preflight.Paths().inputs("--data", spec.locations());
    paths.output("--output", output.toString()).check();
    List<TokenDataset> sets = new ArrayList<>();
    try {
      for (String l : spec.locations()) {
        if (!Files.isRegularFile(Path.of(l).resolve("manifest.json"))) {
          throw new UserError("--data " + l + " is not a finished dataset (no manifest.json)");
        }
        sets.add(TokenDataset.open(Path.of(l), !noVerify));
      }
      TrainConfig tc;
      try {
        GptConfig m = model.config(sets.get(0).vocabSize());
        tc =
            run.applyTo(optimizer.applyTo(TrainConfig.defaults(m)))
                .withLogEvery(logEvery)
                .withThreads(threads);
      } catch (IllegalArgumentException e) {
        throw new UserError(e.getMessage());
      }
      System.err.println("train-local: " + data + " -> " + output + "; model " + tc.model());
      Trainer.Result r;
      try {
        r =
            Trainer.train(
                tc,
                sets,
                spec.sources(),
                output,
                run.resume.allowConfigChange,
                System.err::println);
      } catch (IllegalArgumentException e) {
        throw new UserError(e.getMessage());
      }
      System.out.printf(
          Locale.ROOT,
          "steps %d..%d, final train loss %.4f, validation loss %s, %.0f ms/step%n",
          r.firstStep(),
          r.firstStep() + r.steps(),
          r.trainLosses().isEmpty() ? Double.NaN : r.trainLosses().get(r.trainLosses().size() - 1),
          r.lastValLoss() == null ? "n/a" : String.format(Locale.ROOT, "%.4f", r.lastValLoss()),
          r.meanMsPerStep());
      RunReport.write(output, "sparkgpt train-local: " + output.getFileName());
      System.out.println("run: " + output + " (metrics.jsonl, loss.png, report.html, checkpoint/)");
    } finally {
      sets.forEach(TokenDataset::close);
    }
    return 0;
  }
}
