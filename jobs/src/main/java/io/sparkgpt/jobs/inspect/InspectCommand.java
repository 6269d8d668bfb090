package io.sparkgpt.jobs.inspect;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "inspect",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Summarise, check or browse a clean output (Parquet or JSONL), a clean run's rejected folder, a token "
          + "dataset (manifest.json) or a training run folder (metrics.jsonl, checkpoints). No Spark needed.",
      "Exit code 1 when --verify finds a problem (one line per problem), 2 for a usage error."
    })
public final class InspectCommand implements Callable<Integer> {
  @Parameters(
      index = "0",
      paramLabel = "PATH",
      description = "Clean output, rejected folder, dataset or run folder.")
  Path path;

  @Option(
      names = "--verify",
      description = "Check every checksum and every count against the files.")
  boolean verify;

  @Option(
      names = "--sample",
      paramLabel = "I",
      description = "Dataset: print sample I decoded, document " + "boundaries marked.")
  Integer sample;

  @Option(
      names = "--split",
      defaultValue = "train",
      paramLabel = "SPLIT",
      description = "Dataset split for --sample (default: ${DEFAULT-VALUE}).")
  String split;

  @Option(
      names = "--docs",
      paramLabel = "N",
      description = "Clean output: print N random documents with their " + "metadata.")
  Integer docs;

  @Option(
      names = "--seed",
      defaultValue = "0",
      paramLabel = "S",
      description = "Seed for --docs (default 0).")
  long seed;

  @Option(
      names = "--max-chars",
      defaultValue = "600",
      paramLabel = "C",
      description = "Characters of text shown per document (default: ${DEFAULT-VALUE}).")
  int maxChars;

  @Option(
      names = "--rejected",
      paramLabel = "REASON",
      description =
          "Rejected folder: list the documents "
              + "dropped for REASON (a rule such as near_duplicate, a step such as quality, or step/rule).")
  String rejected;

  @Option(
      names = "--histogram",
      paramLabel = "FILE.png",
      description =
          "Draw the distribution of document lengths in tokens (bytes for a clean output without "
              + "--tokenizer).")
  Path histogram;

  @Option(
      names = {"-t", "--tokenizer"},
      paramLabel = "SPEC",
      description =
          "Clean output: count tokens with this tokenizer (tokenizer.json, r50k_base, ...).")
  String tokenizer;

  @Option(names = "--json", description = "Print the summary as JSON.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    if (!Files.exists(path)) {
      throw new UserError("not found: " + path);
    }
    Inspected what = Inspected.of(path, tokenizer == null ? null : loadTokenizer(tokenizer));
    if (sample != null && !(what instanceof DatasetInspector)) {
      throw new UserError(
          "--sample needs a dataset folder (with manifest.json); " + path + " is " + what.kind());
    }
    if (docs != null && !(what instanceof CleanOutputInspector c && !c.isRejected())) {
      throw new UserError("--docs needs a clean output; " + path + " is " + what.kind());
    }
    if (rejected != null && !(what instanceof CleanOutputInspector c && c.isRejected())) {
      throw new UserError(
          "--rejected needs a clean run's rejected folder; " + path + " is " + what.kind());
    }
    if (docs != null && docs < 1 || sample != null && sample < 0 || maxChars < 1) {
      throw new UserError("--docs and --max-chars must be positive, --sample at least 0");
    }
    if (verify) {
      List<String> problems = new ArrayList<>();
      String checked = what.verify(problems);
      for (String p : problems) {
        System.out.println("problem: " + p);
      }
      System.out.println(
          problems.isEmpty()
              ? "verify: ok, " + checked
              : "verify: "
                  + problems.size()
                  + " problem"
                  + (problems.size() == 1 ? "" : "s")
                  + " ("
                  + checked
                  + ")");
      return problems.isEmpty() ? 0 : 1;
    }
    if (sample != null) {
      System.out.print(((DatasetInspector) what).decodeSample(split, sample));
      return 0;
    }
    if (docs != null) {
      ((CleanOutputInspector) what).printDocs(docs, seed, maxChars, System.out);
      return 0;
    }
    if (rejected != null) {
      ((CleanOutputInspector) what).printRejected(rejected, maxChars, System.out);
      return 0;
    }
    if (histogram != null) {
      if (!histogram.getFileName().toString().endsWith(".png")) {
        throw new UserError("--histogram writes a PNG: give a FILE.png");
      }
      Histogram.Lengths lengths = what.lengths();
      Histogram.write(histogram, lengths, path.getFileName().toString());
      System.out.println(
          String.format(
              java.util.Locale.ROOT,
              "%s: %,d documents, %s median %,d, max %,d",
              histogram,
              lengths.values().length,
              lengths.unit(),
              lengths.median(),
              lengths.max()));
      return 0;
    }
    Map<String, Object> summary = what.summary();
    if (json) {
      System.out.println(
          DocFiles.JSON
              .copy()
              .enable(SerializationFeature.INDENT_OUTPUT)
              .writeValueAsString(summary));
    } else {
      System.out.print(Text.of(summary));
    }
    return 0;
  }

  static Tokenizer loadTokenizer(String spec) {
    try {
      return Tokenizers.load(spec);
    } catch (RuntimeException e) {
      throw new UserError("--tokenizer " + spec + ": " + e.getMessage());
    }
  }

  /** What PATH turned out to be. */
  interface Inspected {
    String kind();

    Map<String, Object> summary() throws Exception;

    /** Adds one line per problem; returns what was checked, for the closing line. */
    String verify(List<String> problems) throws Exception;

    Histogram.Lengths lengths() throws Exception;

    static Inspected of(Path path, Tokenizer tokenizer) throws Exception {
      if (Files.isRegularFile(path.resolve(io.sparkgpt.tokenizer.dataset.Manifest.FILE))) {
        return new DatasetInspector(path);
      }
      if (Files.isRegularFile(path.resolve("metrics.jsonl"))
          || Files.isDirectory(path.resolve("checkpoints"))
          || Files.isRegularFile(path.resolve("checkpoint").resolve("config.json"))) {
        return new RunInspector(path);
      }
      DocFiles files = DocFiles.find(path);
      if (files != null) {
        return new CleanOutputInspector(path, files, tokenizer);
      }
      throw new UserError(
          path
              + ": not a clean output (JSONL or Parquet files), a dataset (manifest.json) "
              + "or a run folder (metrics.jsonl, checkpoints/)");
    }
  }

  /** Nested maps as indented "key: value" lines. */
  static final class Text {
    static String of(Map<String, Object> m) {
      StringBuilder b = new StringBuilder();
      append(b, m, "");
      return b.toString();
    }

    private static void append(StringBuilder b, Map<?, ?> m, String indent) {
      m.forEach(
          (k, v) -> {
            if (v instanceof Map<?, ?> sub) {
              b.append(indent).append(k).append(":\n");
              append(b, sub, indent + "  ");
            } else if (v instanceof List<?> list
                && !list.isEmpty()
                && list.get(0) instanceof Map<?, ?>) {
              b.append(indent).append(k).append(":\n");
              for (Object o : list) {
                b.append(indent).append("  -\n");
                append(b, (Map<?, ?>) o, indent + "    ");
              }
            } else if (v instanceof JsonNode n) {
              b.append(indent).append(k).append(": ").append(n).append('\n');
            } else {
              b.append(indent).append(k).append(": ").append(format(v)).append('\n');
            }
          });
    }

    static String format(Object v) {
      if (v instanceof Long || v instanceof Integer) {
        return String.format(java.util.Locale.ROOT, "%,d", ((Number) v).longValue());
      }
      if (v instanceof Double d) {
        return String.format(java.util.Locale.ROOT, "%.4g", d);
      }
      return String.valueOf(v);
    }
  }
}
