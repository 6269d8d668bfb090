package io.sparkgpt.jobs.tokenize;

import io.sparkgpt.cluster.Progress;
import io.sparkgpt.cluster.SparkRuntime;
import io.sparkgpt.jobs.Preflight;
import io.sparkgpt.jobs.SparkOptions;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.jobs.input.InputOptions;
import io.sparkgpt.jobs.input.Inputs;
import io.sparkgpt.jobs.report.HtmlReport;
import io.sparkgpt.tokenizer.dataset.DatasetWriter;
import io.sparkgpt.tokenizer.dataset.Format;
import io.sparkgpt.tokenizer.dataset.Manifest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "tokenize",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Encode a corpus into a sharded, packed token dataset (manifest.json + shards).",
      "Each document is followed by the end-of-text token; a sample is seq-len + 1 consecutive tokens. A rerun "
          + "after a crash completes the dataset, reusing the shards already committed."
    })
public final class TokenizeCommand implements Callable<Integer> {
  @Mixin SparkOptions spark;

  @Mixin InputOptions input;

  @Option(
      names = {"-t", "--tokenizer"},
      required = true,
      paramLabel = "SPEC",
      description =
          "tokenizer.json, SentencePiece .model, .tiktoken file, r50k_base (GPT-2) or cl100k_base.")
  String tokenizer;

  @Option(
      names = {"-o", "--output"},
      required = true,
      paramLabel = "DIR",
      description = "The dataset folder.")
  String output;

  @Option(
      names = "--seq-len",
      required = true,
      paramLabel = "N",
      description = "Context length of the samples.")
  int seqLen;

  @Option(
      names = "--val-fraction",
      defaultValue = "0.005",
      paramLabel = "F",
      description =
          "Share of documents in the validation split, chosen by a hash of the id (default: ${DEFAULT-VALUE}).")
  double valFraction;

  @Option(
      names = "--shard-tokens",
      defaultValue = "100000000",
      paramLabel = "N",
      description = "Target tokens per shard (default: ${DEFAULT-VALUE}).")
  long shardTokens;

  @Option(
      names = "--seed",
      defaultValue = "0",
      paramLabel = "S",
      description = "Seed of the document shuffle and the split (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--format",
      defaultValue = "native",
      paramLabel = "FMT",
      description =
          "native (flat uint16/uint32 shards) or megatron (.bin/.idx) (default: ${DEFAULT-VALUE}).")
  String format;

  @Option(
      names = "--partitions",
      defaultValue = "0",
      paramLabel = "N",
      description =
          "Input splits to read and encode, one task each (default: one per 64 MiB of input). The "
              + "shards depend on it, never on the number of cores.")
  int partitions;

  @Option(
      names = "--global-shuffle",
      description =
          "Put the documents in one corpus-wide shuffled order (the "
              + "same shards for any --partitions), at the cost of a shuffle of document keys and a second pass over the "
              + "tokens. Default: each task writes its input split's documents in input order; training permutes samples.")
  boolean globalShuffle;

  @Option(names = "--overwrite", description = "Delete an existing dataset folder first.")
  boolean overwrite;

  /** The HTML report, next to manifest.json. */
  public static final String REPORT = DatasetWriter.REPORT_HTML;

  @Override
  public Integer call() throws Exception {
    if (shardTokens < seqLen + 1L) {
      throw new UserError("--shard-tokens must hold at least one sample (seq-len + 1 tokens)");
    }
    Format fmt =
        switch (format.toLowerCase(Locale.ROOT)) {
          case "native" -> Format.NATIVE;
          case "megatron" -> Format.MEGATRON;
          default ->
              throw new UserError("--format: '" + format + "' is not one of native, megatron");
        };
    // true: an existing output is checked below, since a dataset of this job may be resumed or
    // confirmed
    Inputs.preflight(input.inputs, input.format(), true, "--output", output);
    if (java.nio.file.Files.isRegularFile(java.nio.file.Path.of(tokenizer))) {
      new Preflight.Paths().input("--tokenizer", tokenizer).output("--output", output).check();
    }
    // a bad spec fails before Spark starts; the dataset's copy is made while Spark starts
    TokenizeJob.Prepared prepared = TokenizeJob.prepare(tokenizer);
    Map<String, Object> params = new LinkedHashMap<>();
    params.put("input", String.join(",", input.inputs));
    params.put("tokenizer", tokenizer);
    params.put("seq_len", seqLen);
    params.put("val_fraction", valFraction);
    params.put("shard_tokens", shardTokens);
    params.put("seed", seed);
    params.put("format", fmt.id());
    params.put("global_shuffle", globalShuffle);
    if (!overwrite) {
      checkResumable(params);
    }
    var options =
        new TokenizeJob.Options(
            input.inputs,
            input.format(),
            input.readOptions(),
            tokenizer,
            output,
            seqLen,
            valFraction,
            shardTokens,
            seed,
            fmt,
            partitions,
            globalShuffle,
            overwrite,
            params);
    try (SparkSession session =
        SparkRuntime.start("sparkgpt tokenize", spark.master, spark.verbose, spark.conf)) {
      System.err.println(
          "sparkgpt tokenize: "
              + String.join(",", input.inputs)
              + " -> "
              + output
              + " ("
              + tokenizer
              + ", seq-len "
              + seqLen
              + ", "
              + fmt.id()
              + ") on "
              + session.sparkContext().master());
      try (Progress progress = new Progress(session.sparkContext(), System.err, 2000)) {
        Manifest m = TokenizeJob.run(session, options, prepared, progress::phase);
        Path report = new Path(output, REPORT);
        var fs = report.getFileSystem(session.sparkContext().hadoopConfiguration());
        // a confirmed dataset keeps its report: a rerun of the same job changes nothing in the
        // folder
        if (!fs.exists(report)
            || fs.getFileStatus(report).getModificationTime()
                < fs.getFileStatus(new Path(output, Manifest.FILE)).getModificationTime()) {
          writeHtmlReport(fs, report, m);
        }
        System.out.println(m.summary().stripTrailing());
        System.out.println("dataset: " + output);
      }
    }
    return 0;
  }

  /**
   * A self-contained page: the splits' figures and the tokens of every shard (written under a
   * temporary name).
   */
  public static void writeHtmlReport(org.apache.hadoop.fs.FileSystem fs, Path file, Manifest m)
      throws java.io.IOException {
    HtmlReport h = new HtmlReport("sparkgpt tokenize: " + file.getParent().getName());
    h.table(
        List.of("format", "dtype", "vocabulary", "seq-len", "tokenizer", "seconds", "tokens/s"),
        List.of(
            List.of(
                m.format().id(),
                m.dtype().id(),
                (long) m.vocabSize(),
                (long) m.seqLen(),
                m.tokenizer().name(),
                m.stats() == null ? 0.0 : m.stats().seconds(),
                m.stats() == null ? 0.0 : m.stats().tokensPerSecond())));
    List<List<Object>> rows = new ArrayList<>();
    List<String> shards = new ArrayList<>();
    Map<String, List<? extends Number>> tokens = new LinkedHashMap<>();
    m.splits()
        .forEach(
            (name, sp) -> {
              rows.add(
                  List.of(
                      name,
                      sp.documents(),
                      sp.tokens(),
                      sp.samples(),
                      sp.textBytes(),
                      (long) sp.shards().size(),
                      sp.tokens() > sp.documents()
                          ? (double) sp.textBytes() / (sp.tokens() - sp.documents())
                          : 0.0));
              List<Long> perShard = new ArrayList<>();
              for (Manifest.Shard sh : m.allShards()) {
                perShard.add(sp.shards().contains(sh) ? sh.tokens() : 0L);
              }
              tokens.put(name, perShard);
            });
    for (Manifest.Shard sh : m.allShards()) {
      shards.add(sh.file().replaceAll("\\.bin$", ""));
    }
    h.heading("Splits");
    h.table(
        List.of("split", "documents", "tokens", "samples", "text bytes", "shards", "bytes/token"),
        rows);
    h.heading("Shards");
    h.barChart("Tokens per shard", "shard", "tokens", shards, tokens);
    if (!m.sources().isEmpty()) {
      h.heading("Sources");
      List<List<Object>> bySource = new ArrayList<>();
      Map<String, Long> sourceTokens = new LinkedHashMap<>();
      m.sources()
          .forEach(
              (name, s) -> {
                bySource.add(
                    List.of(name, s.documents(), s.tokens(), s.textBytes(), s.rejectedDocuments()));
                sourceTokens.put(name, s.tokens());
              });
      h.table(
          List.of("source", "documents", "tokens", "text bytes", "rejected documents"), bySource);
      h.barChart("Tokens per source", "source", "tokens", sourceTokens);
    }
    Path tmp = new Path(file.getParent(), "." + file.getName() + ".inprogress");
    try (var out = fs.create(tmp, true)) {
      out.write(h.html().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    fs.delete(file, false);
    if (!fs.rename(tmp, file)) {
      throw new java.io.IOException("could not rename " + tmp + " to " + file);
    }
  }

  /**
   * An existing --output may only be this job's dataset, finished (confirmed) or not (resumed):
   * anything else is refused here, before Spark starts. The job checks the shards' layouts once it
   * knows them.
   */
  private void checkResumable(Map<String, Object> params) throws java.io.IOException {
    Path out = new Path(output);
    var fs = out.getFileSystem(new Configuration());
    if (!fs.exists(out)) {
      return;
    }
    String use = "; use --overwrite to replace it, or another --output";
    if (!fs.getFileStatus(out).isDirectory()) {
      throw new UserError(
          "--output " + output + " exists and is a file, not a dataset folder" + use);
    }
    for (FileStatus st : fs.listStatus(out)) {
      String name = st.getPath().getName();
      if (st.isDirectory()
          ? !name.equals("rejected") && !name.equals(TokenizeJob.SPILL_DIR)
          : !DatasetWriter.isDatasetFile(name)) {
        throw new UserError(
            "--output " + output + " is not a dataset folder (it holds " + name + ")" + use);
      }
    }
    Path mf = new Path(out, Manifest.FILE);
    if (!fs.exists(mf)) {
      return;
    }
    Manifest m;
    try (var in = fs.open(mf)) {
      m = Manifest.read(in, output + "/" + Manifest.FILE);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage() + use);
    }
    List<String> differ = new ArrayList<>();
    params.forEach(
        (k, v) -> {
          Object theirs = m.parameters().get(k);
          // inputs and tokenizer are compared by content (the job key, the tokenizer's sha256) in
          // the job
          if (!k.equals("input")
              && !k.equals("tokenizer")
              && !String.valueOf(v).equals(String.valueOf(theirs))) {
            differ.add(k + " " + theirs + " -> " + v);
          }
        });
    if (!differ.isEmpty()) {
      throw new UserError(
          "--output "
              + output
              + " holds a dataset made with other settings ("
              + String.join(", ", differ)
              + ")"
              + use);
    }
    System.err.println(
        "tokenize: "
            + output
            + " holds a finished dataset of these settings; checking that it "
            + "matches (use --overwrite to rebuild it)");
  }
}
