package io.sparkgpt.jobs.clean;

import io.sparkgpt.cluster.Progress;
import io.sparkgpt.cluster.SparkRuntime;
import io.sparkgpt.jobs.SparkOptions;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.jobs.input.InputOptions;
import io.sparkgpt.jobs.input.Inputs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "clean",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Clean and deduplicate raw text and code into documents (id, text, source, language, content, metadata).",
      "Steps, in order: decode, normalize, quality, repetition, code_quality, language, pii, exact_dedup, "
          + "fuzzy_dedup. Every input document ends up kept, rejected (with step and reason) or quarantined."
    })
public final class CleanCommand implements Callable<Integer> {
  @Mixin SparkOptions spark;

  @Mixin InputOptions input;

  @Option(
      names = {"-o", "--output"},
      required = true,
      paramLabel = "DIR",
      description = "Output directory.")
  String output;

  @Option(
      names = "--output-format",
      defaultValue = "parquet",
      paramLabel = "FMT",
      description = "parquet or jsonl (default: ${DEFAULT-VALUE}).")
  String outputFormat;

  @Option(names = "--normalization", paramLabel = "FORM", description = "nfc (default) or nfkc.")
  String normalization;

  @Option(
      names = "--languages",
      split = ",",
      paramLabel = "CODES",
      description = "Keep only prose in these ISO 639-1 languages, e.g. en,zh (default: keep all).")
  List<String> languages;

  @Option(
      names = "--skip",
      split = ",",
      paramLabel = "STEPS",
      description =
          "Steps to switch off: quality, repetition, code_quality, language, pii, exact_dedup, fuzzy_dedup.")
  List<String> skip = new ArrayList<>();

  @Option(
      names = "--dedup-threshold",
      paramLabel = "J",
      description = "Jaccard similarity above which documents are near-duplicates (default 0.8).")
  Double dedupThreshold;

  @Option(
      names = "--decontaminate",
      split = ",",
      paramLabel = "EVAL",
      description =
          "Eval sets (JSONL with a text field, or plain text; the benchmark is the file name): drop or "
              + "cut documents sharing an n-gram with them.")
  List<String> decontaminate = new ArrayList<>();

  @Option(
      names = "--decontaminate-ngram",
      paramLabel = "N",
      description = "Words per n-gram (default 13).")
  Integer ngram;

  @Option(
      names = "--decontaminate-split",
      paramLabel = "MODE",
      description = "cjk (default: each CJK character is a word) or whitespace.")
  String split;

  @Option(
      names = "--decontaminate-action",
      paramLabel = "ACTION",
      description = "drop (default) the document, or cut the overlapping spans.")
  String action;

  @Option(
      names = "--decontaminate-margin",
      paramLabel = "WORDS",
      description = "With cut: words removed either side of an overlap (default 200).")
  Integer margin;

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description =
          "JSON file overriding any threshold (see --print-config for keys and defaults).")
  Path config;

  @Option(
      names = "--print-config",
      description =
          "Print the effective configuration as JSON (with the pipeline: every step in order, whether it runs, its drop reasons) and exit.")
  boolean printConfig;

  @Option(names = "--report", paramLabel = "FILE", description = "Write the JSON report here.")
  String report;

  @Option(
      names = "--rejected",
      paramLabel = "DIR",
      description = "Write every dropped document (JSONL) with its step and reason here.")
  String rejected;

  @Option(
      names = "--partitions",
      defaultValue = "0",
      paramLabel = "N",
      description =
          "Partitions for reading and shuffles (default: 2 x Spark's default parallelism).")
  int partitions;

  @Option(
      names = "--overwrite",
      description = "Replace existing output, report and rejected paths.")
  boolean overwrite;

  @Override
  public Integer call() throws Exception {
    CleanConfig cfg = effectiveConfig();
    CleanJob.Options options = options(cfg);
    if (printConfig) {
      System.out.println(cfg.toJson(options.skip()));
      return 0;
    }
    Inputs.preflight(
        input.inputs,
        input.format(),
        overwrite,
        "--output",
        output,
        "--report",
        report,
        "--report",
        report == null ? null : CleanJob.htmlPath(report),
        "--rejected",
        rejected);
    Decontamination.evalFiles(new org.apache.hadoop.conf.Configuration(), decontaminate);
    try (SparkSession session =
        SparkRuntime.start("sparkgpt clean", spark.master, spark.verbose, spark.conf)) {
      System.err.println(
          "sparkgpt clean: "
              + String.join(",", input.inputs)
              + " -> "
              + output
              + " on "
              + session.sparkContext().master()
              + "; steps off: "
              + (skip.isEmpty() ? "none" : String.join(",", skip)));
      System.err.println("config: " + cfg.toJson(false));
      try (Progress progress = new Progress(session.sparkContext(), System.err, 2000)) {
        CleanReport r = CleanJob.run(session, options, progress::phase);
        System.out.print(r.table());
        System.out.println(
            "output: "
                + output
                + (report != null ? ", report: " + report : "")
                + (rejected != null ? ", rejected: " + rejected : ""));
      }
    }
    return 0;
  }

  CleanConfig effectiveConfig() throws java.io.IOException {
    CleanConfig c = CleanConfig.DEFAULTS;
    if (config != null) {
      if (!Files.isRegularFile(config)) {
        throw new UserError("--config file not found: " + config);
      }
      try {
        c = CleanConfig.load(config);
      } catch (java.io.IOException | IllegalArgumentException e) {
        throw new UserError("bad --config " + config + ": " + e.getMessage().split("\n")[0]);
      }
    }
    if (normalization != null) {
      c =
          new CleanConfig(
              new CleanConfig.Normalize(normalization),
              c.quality(),
              c.repetition(),
              c.code(),
              c.language(),
              c.pii(),
              c.dedup(),
              c.decontaminate());
    }
    if (languages != null) {
      try {
        LanguageId.checkCodes(languages);
      } catch (IllegalArgumentException e) {
        throw new UserError("--languages: " + e.getMessage());
      }
      var l = c.language();
      c =
          new CleanConfig(
              c.normalize(),
              c.quality(),
              c.repetition(),
              c.code(),
              new CleanConfig.Language(languages, l.sampleChars(), l.minConfidence()),
              c.pii(),
              c.dedup(),
              c.decontaminate());
    }
    if (dedupThreshold != null) {
      var d = c.dedup();
      c =
          new CleanConfig(
              c.normalize(),
              c.quality(),
              c.repetition(),
              c.code(),
              c.language(),
              c.pii(),
              new CleanConfig.Dedup(
                  d.exact(),
                  d.fuzzy(),
                  dedupThreshold,
                  d.bands(),
                  d.rows(),
                  d.shingleSize(),
                  d.cjkShingleSize()),
              c.decontaminate());
    }
    var dc = c.decontaminate();
    dc =
        new CleanConfig.Decontaminate(
            ngram != null ? ngram : dc.ngram(),
            split != null ? split.toLowerCase(Locale.ROOT) : dc.split(),
            action != null ? action.toLowerCase(Locale.ROOT) : dc.action(),
            margin != null ? margin : dc.marginWords(),
            dc.maxCuts(),
            dc.textFields(),
            dc.bloomAboveNgrams(),
            dc.bloomFpp());
    if (dc.problem() != null) {
      throw new UserError(dc.problem());
    }
    c =
        new CleanConfig(
            c.normalize(),
            c.quality(),
            c.repetition(),
            c.code(),
            c.language(),
            c.pii(),
            c.dedup(),
            dc);
    try {
      c.validate();
    } catch (IllegalArgumentException e) {
      throw new UserError(
          (config != null ? "--config " + config + " with the flags: " : "") + e.getMessage());
    }
    String form = c.normalize().form().toLowerCase(Locale.ROOT);
    if (!form.equals("nfc") && !form.equals("nfkc")) {
      throw new UserError("normalization must be nfc or nfkc, not " + c.normalize().form());
    }
    return c;
  }

  CleanJob.Options options(CleanConfig cfg) {
    Set<String> skipped = new LinkedHashSet<>();
    for (String s : skip) {
      String step = s.trim().toLowerCase(Locale.ROOT).replace('-', '_');
      if (!Steps.SKIPPABLE.contains(step)) {
        throw new UserError(
            "--skip: unknown or mandatory step '"
                + s
                + "' (skippable: "
                + String.join(", ", Steps.SKIPPABLE)
                + ")");
      }
      skipped.add(step);
    }
    if (!cfg.dedup().exact()) {
      skipped.add(Steps.EXACT_DEDUP);
    }
    if (!cfg.dedup().fuzzy()) {
      skipped.add(Steps.FUZZY_DEDUP);
    }
    return new CleanJob.Options(
        input.inputs,
        output,
        InputOptions.choice("--output-format", outputFormat, CleanJob.OutputFormat.class),
        input.format(),
        input.readOptions(),
        skipped,
        cfg,
        report,
        rejected,
        partitions,
        overwrite,
        decontaminate);
  }
}
