package io.sparkgpt.jobs;

import io.sparkgpt.cluster.ParameterAveragingTrainer;
import io.sparkgpt.cluster.PretrainData;
import io.sparkgpt.cluster.Progress;
import io.sparkgpt.cluster.SparkRuntime;
import io.sparkgpt.jobs.clean.CleanConfig;
import io.sparkgpt.jobs.clean.CleanJob;
import io.sparkgpt.jobs.clean.CleanReport;
import io.sparkgpt.jobs.input.DocReader;
import io.sparkgpt.jobs.input.Inputs;
import io.sparkgpt.jobs.tokenize.TokenizeJob;
import io.sparkgpt.jobs.tokenize.TrainTokenizerJob;
import io.sparkgpt.jobs.train.DataSpec;
import io.sparkgpt.model.Checkpoint;
import io.sparkgpt.model.Generator;
import io.sparkgpt.model.GptConfig;
import io.sparkgpt.model.Objective;
import io.sparkgpt.model.TrainConfig;
import io.sparkgpt.model.Trainer;
import io.sparkgpt.tokenizer.SplitPattern;
import io.sparkgpt.tokenizer.dataset.Format;
import io.sparkgpt.tokenizer.dataset.Manifest;
import io.sparkgpt.tokenizer.dataset.Mixture;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The whole recipe in a row: clean, train-tokenizer, tokenize, pretrain, a sample generation. Each
 * stage writes its own folder under the work dir and is skipped when that folder is already
 * complete, so a rerun after a crash picks up where the last one stopped (training resumes from its
 * checkpoint).
 */
@Command(
    name = "pipeline",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Raw text to a trained GPT: clean -> train-tokenizer -> tokenize -> pretrain -> generate.",
      "WORK_DIR gets clean/, tokenizer.json, dataset/, run/ (metrics.jsonl, loss.png, checkpoint/)."
    })
public final class PipelineCommand implements Callable<Integer> {
  @Mixin SparkOptions spark;

  @Option(
      names = {"-i", "--input"},
      required = true,
      split = ",",
      paramLabel = "PATH",
      description =
          "Raw input: files, directories or globs (text, JSONL, Parquet; .gz/.zst/.bz2). Or a "
              + "token-weighted mixture, NAME=PATH:WEIGHT[:max_epochs=E],...: each source is cleaned and tokenized "
              + "on its own (clean/NAME, dataset/NAME), one tokenizer is trained on all, and pretrain blends them.")
  List<String> inputs;

  @Option(
      names = {"-w", "--work-dir"},
      required = true,
      paramLabel = "DIR",
      description = "Where every stage writes.")
  Path work;

  @Option(
      names = "--preset",
      defaultValue = "tiny",
      paramLabel = "NAME",
      description = "Model: tiny, small or gpt2-124m (default: ${DEFAULT-VALUE}).")
  String preset;

  @Option(
      names = "--vocab-size",
      defaultValue = "2048",
      paramLabel = "N",
      description = "Tokenizer vocabulary (default: ${DEFAULT-VALUE}).")
  int vocabSize;

  @Option(
      names = "--steps",
      defaultValue = "200",
      paramLabel = "N",
      description = "Training steps (default: ${DEFAULT-VALUE}).")
  long steps;

  @Option(
      names = "--batch-size",
      defaultValue = "8",
      paramLabel = "B",
      description = "Micro-batch per worker (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(
      names = "--workers",
      defaultValue = "2",
      paramLabel = "N",
      description = "Parameter-averaging workers of pretrain (default: ${DEFAULT-VALUE}).")
  int workers;

  @Option(
      names = "--averaging-every",
      defaultValue = "4",
      paramLabel = "K",
      description = "Local steps between averages (default: ${DEFAULT-VALUE}).")
  int averagingEvery;

  @Option(
      names = {"-p", "--prompt"},
      defaultValue = "ROMEO:",
      paramLabel = "TEXT",
      description = "Prompt of the sample generation (default: ${DEFAULT-VALUE}).")
  String prompt;

  @Option(
      names = "--max-new-tokens",
      defaultValue = "100",
      paramLabel = "N",
      description = "Length of the sample (default: ${DEFAULT-VALUE}).")
  int maxNewTokens;

  @Option(names = "--overwrite", description = "Delete the work dir first instead of resuming.")
  boolean overwrite;

  @Option(
      names = "--allow-config-change",
      description =
          "Resume training even though its settings differ from the checkpoint's (other --steps move the "
              + "warm-up, --batch-size or --workers change the run); the change is written to metrics.jsonl.")
  boolean allowConfigChange;

  @Override
  public Integer call() throws Exception {
    DataSpec spec = DataSpec.parse("--input", String.join(",", inputs));
    DataSpec mix = spec.mixture() ? spec : null;
    List<String> raw = mix != null ? mix.locations() : inputs;
    Inputs.preflight(
        raw, null, true, "--work-dir", work.toString()); // resumes: an existing work dir is fine
    if (overwrite && Files.exists(work)) {
      try (Stream<Path> files = Files.walk(work)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
    Files.createDirectories(work);
    GptConfig model;
    try {
      model = GptConfig.preset(preset, vocabSize);
    } catch (IllegalArgumentException e) {
      throw new UserError("--preset: " + e.getMessage());
    }
    Path clean = work.resolve("clean");
    Path tokenizer = work.resolve("tokenizer.json");
    Path dataset = work.resolve("dataset");
    Path run = work.resolve("run");
    long start = System.nanoTime();
    DocReader.Options read =
        new DocReader.Options(DocReader.DocSplit.FILE, "text", DocReader.Content.AUTO, 64 << 20);
    try (SparkSession session =
        SparkRuntime.start("sparkgpt pipeline", spark.master, spark.verbose, spark.conf)) {
      Progress progress = new Progress(session.sparkContext(), System.err, 2000);
      List<String> names =
          mix == null ? List.of("") : mix.sources().stream().map(Mixture.Source::name).toList();
      List<Path> cleans = names.stream().map(n -> n.isEmpty() ? clean : clean.resolve(n)).toList();
      List<Path> datasets =
          names.stream().map(n -> n.isEmpty() ? dataset : dataset.resolve(n)).toList();
      for (int s = 0; s < names.size(); s++) {
        Path out = cleans.get(s);
        String suffix = names.get(s).isEmpty() ? "" : "-" + names.get(s);
        List<String> in = mix == null ? inputs : List.of(raw.get(s));
        stage(
            "1/5 clean" + (suffix.isEmpty() ? "" : " " + names.get(s)),
            Files.exists(out),
            () -> {
              CleanReport r =
                  CleanJob.run(
                      session,
                      new CleanJob.Options(
                          in,
                          out.toString(),
                          CleanJob.OutputFormat.PARQUET,
                          null,
                          read,
                          Set.of(),
                          CleanConfig.DEFAULTS,
                          work.resolve("clean" + suffix + "-report.json").toString(),
                          work.resolve("rejected" + suffix).toString(),
                          0,
                          false,
                          List.of()),
                      progress::phase);
              System.out.print(r.table());
            });
      }
      stage(
          "2/5 train-tokenizer",
          Files.exists(tokenizer),
          () -> {
            TrainTokenizerJob.Result r =
                TrainTokenizerJob.run(
                    session,
                    new TrainTokenizerJob.Options(
                        cleans.stream().map(Path::toString).toList(),
                        Inputs.Format.PARQUET,
                        read,
                        tokenizer.toString(),
                        vocabSize,
                        2,
                        SplitPattern.GPT2,
                        List.of("<|endoftext|>"),
                        1.0,
                        0.01,
                        2_000_000,
                        0,
                        0,
                        false,
                        null),
                    progress::phase,
                    System.err);
            System.out.printf(
                Locale.ROOT,
                "vocabulary %,d, held-back %.3f bytes/token (GPT-2 %.3f)%n",
                r.vocabSize(),
                r.heldOutBytesPerToken(),
                r.gpt2BytesPerToken());
          });
      for (int s = 0; s < names.size(); s++) {
        Path in = cleans.get(s);
        Path out = datasets.get(s);
        stage(
            "3/5 tokenize" + (names.get(s).isEmpty() ? "" : " " + names.get(s)),
            Files.exists(out.resolve(Manifest.FILE)),
            () -> {
              Manifest m =
                  TokenizeJob.run(
                      session,
                      new TokenizeJob.Options(
                          List.of(in.toString()),
                          Inputs.Format.PARQUET,
                          read,
                          tokenizer.toString(),
                          out.toString(),
                          model.blockSize(),
                          0.05,
                          100_000_000,
                          0,
                          Format.NATIVE,
                          0,
                          false,
                          false,
                          Map.of("pipeline", true)),
                      progress::phase);
              org.apache.hadoop.fs.Path report =
                  new org.apache.hadoop.fs.Path(
                      out.toUri().toString(), io.sparkgpt.jobs.tokenize.TokenizeCommand.REPORT);
              io.sparkgpt.jobs.tokenize.TokenizeCommand.writeHtmlReport(
                  report.getFileSystem(session.sparkContext().hadoopConfiguration()), report, m);
              System.out.println(m.summary().stripTrailing());
            });
      }
      progress.close(); // pretrain prints its own progress line per round
      stage(
          "4/5 pretrain",
          false,
          () -> {
            List<TokenDataset> sets = new ArrayList<>();
            try {
              for (Path d : datasets) {
                sets.add(TokenDataset.open(d));
              }
              TokenDataset ds = sets.get(0);
              TrainConfig tc =
                  TrainConfig.defaults(model.withVocab(ds.vocabSize()))
                      .withBatch(batchSize, 1)
                      .withSteps(steps, Math.min(100, steps / 10))
                      .withEval((int) Math.max(1, steps / 10), 10)
                      .withCheckpointEvery((int) Math.max(1, steps / 5));
              long rounds = (steps + averagingEvery - 1) / averagingEvery;
              ParameterAveragingTrainer.Options o =
                  new ParameterAveragingTrainer.Options(
                      workers,
                      averagingEvery,
                      1,
                      (int) Math.max(1, rounds / 10),
                      (int) Math.max(1, rounds / 5),
                      false,
                      allowConfigChange);
              JavaSparkContext sc = JavaSparkContext.fromSparkContext(session.sparkContext());
              ParameterAveragingTrainer.Result r;
              try {
                r =
                    mix == null
                        ? ParameterAveragingTrainer.train(
                            sc, tc, o, ds, null, run, System.err::println)
                        : ParameterAveragingTrainer.train(
                            sc,
                            tc,
                            o,
                            new ParameterAveragingTrainer.Run(
                                "pretrain",
                                PretrainData.of(
                                    sets,
                                    java.util.Collections.nCopies(sets.size(), null),
                                    mix.sources()),
                                Objective.lm(),
                                null),
                            run,
                            System.err::println);
              } catch (IllegalArgumentException e) {
                throw new UserError(e.getMessage());
              }
              System.out.printf(
                  Locale.ROOT,
                  "trained to step %d, validation loss %s%n",
                  r.lastStep(),
                  r.lastValLoss() == null
                      ? "n/a"
                      : String.format(Locale.ROOT, "%.4f", r.lastValLoss()));
              io.sparkgpt.jobs.train.RunReport.write(run, "sparkgpt pipeline: " + run);
            } finally {
              sets.forEach(TokenDataset::close);
            }
          });
    }
    stage(
        "5/5 generate",
        false,
        () -> {
          Checkpoint ckpt = Checkpoint.load(run.resolve(Trainer.CHECKPOINT), false);
          System.out.println("--- sample ---");
          System.out.print(prompt);
          Generator.generate(
              ckpt,
              prompt,
              new Generator.Sampling(maxNewTokens, 0.8, 40, 1.0, 0, true),
              System.out::print);
          System.out.println("\n--------------");
        });
    System.out.printf(
        Locale.ROOT, "pipeline done in %.1f s: %s%n", (System.nanoTime() - start) / 1e9, work);
    return 0;
  }

  interface Stage {
    void run() throws IOException;
  }

  static void stage(String name, boolean done, Stage body) throws IOException {
    if (done) {
      System.err.println("== " + name + ": already done, skipped");
      return;
    }
    System.err.println("== " + name);
    body.run();
  }
}
