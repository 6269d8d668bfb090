package io.sparkgpt.jobs.tokenize;

import io.sparkgpt.cluster.Progress;
import io.sparkgpt.cluster.SparkRuntime;
import io.sparkgpt.jobs.InputOptions;
import io.sparkgpt.jobs.Preflight;
import io.sparkgpt.jobs.SparkOptions;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.tokenizer.dataset.Format;
import io.sparkgpt.tokenizer.dataset.Manifest;
import io.sparkgpt.tokenizer.dataset.DatasetWriter;
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

@Command(name = "tokenize", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Encode a corpus into a sharded, packed token dataset (manifest.json + shards).",
        "Each document is followed by the end-of-text token; a sample is seq-len + 1 consecutive tokens. A rerun "
            + "after a crash completes the dataset, reusing the shards already committed."})
public final class TokenizeCommand implements Callable<Integer> {
  @Mixin
  SparkOptions spark;

  @Mixin
  InputOptions input;

  @Option(names = {"-t", "--tokenizer"}, required = true, paramLabel = "SPEC",
      description = "tokenizer.json, SentencePiece .model, .tiktoken file, r50k_base (GPT-2) or cl100k_base.")
  String tokenizer;

  @Option(names = {"-o", "--output"}, required = true, paramLabel = "DIR", description = "The dataset folder.")
  String output;

  @Option(names = "--seq-len", required = true, paramLabel = "N", description = "Context length of the samples.")
  int seqLen;

  @Option(names = "--val-fraction", defaultValue = "0.005", paramLabel = "F",
      description = "Share of documents in the validation split, chosen by a hash of the id (default: ${DEFAULT-VALUE}).")
  double valFraction;

  @Option(names = "--shard-tokens", defaultValue = "100000000", paramLabel = "N",
      description = "Target tokens per shard (default: ${DEFAULT-VALUE}).")
  long shardTokens;

  @Option(names = "--seed", defaultValue = "0", paramLabel = "S",
      description = "Seed of the document shuffle and the split (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--format", defaultValue = "native", paramLabel = "FMT",
      description = "native (flat uint16/uint32 shards) or megatron (.bin/.idx) (default: ${DEFAULT-VALUE}).")
  String format;

  @Option(names = "--partitions", defaultValue = "0", paramLabel = "N",
      description = "Partitions for reading and encoding (default: 2 x Spark's default parallelism).")
  int partitions;

  @Option(names = "--overwrite", description = "Delete an existing dataset folder first.")
  boolean overwrite;

  @Override
  public Integer call() throws Exception {
    if (shardTokens < seqLen + 1L) {
      throw new UserError("--shard-tokens must hold at least one sample (seq-len + 1 tokens)");
    }
    Format fmt = switch (format.toLowerCase(Locale.ROOT)) {
      case "native" -> Format.NATIVE;
      case "megatron" -> Format.MEGATRON;
      default -> throw new UserError("--format: '" + format + "' is not one of native, megatron");
    };
    // true: an existing output is checked below, since a dataset of this job may be resumed or confirmed
    Preflight.check(input.inputs, input.format(), true, "--output", output);
    if (java.nio.file.Files.isRegularFile(java.nio.file.Path.of(tokenizer))) {
      new Preflight.Paths().input("--tokenizer", tokenizer).output("--output", output).check();
    }
    TokenizerOption.load(tokenizer); // a bad spec fails before Spark starts
    Map<String, Object> params = new LinkedHashMap<>();
    params.put("input", String.join(",", input.inputs));
    params.put("tokenizer", tokenizer);
    params.put("seq_len", seqLen);
    params.put("val_fraction", valFraction);
    params.put("shard_tokens", shardTokens);
    params.put("seed", seed);
    params.put("format", fmt.id());
    if (!overwrite) {
      checkResumable(params);
    }
    var options = new TokenizeJob.Options(input.inputs, input.format(), input.readOptions(), tokenizer, output,
        seqLen, valFraction, shardTokens, seed, fmt, partitions, overwrite, params);
    try (SparkSession session = SparkRuntime.start("sparkgpt tokenize", spark.master, spark.verbose, spark.conf)) {
      System.err.println("sparkgpt tokenize: " + String.join(",", input.inputs) + " -> " + output + " ("
          + tokenizer + ", seq-len " + seqLen + ", " + fmt.id() + ") on " + session.sparkContext().master());
      try (Progress progress = new Progress(session.sparkContext(), System.err, 2000)) {
        Manifest m = TokenizeJob.run(session, options, progress::phase);
        System.out.println(m.summary().stripTrailing());
        System.out.println("dataset: " + output);
      }
    }
    return 0;
  }

  /**
   * An existing --output may only be this job's dataset, finished (confirmed) or not (resumed): anything else is
   * refused here, before Spark starts. The job checks the shards' layouts once it knows them.
   */
  private void checkResumable(Map<String, Object> params) throws java.io.IOException {
    Path out = new Path(output);
    var fs = out.getFileSystem(new Configuration());
    if (!fs.exists(out)) {
      return;
    }
    String use = "; use --overwrite to replace it, or another --output";
    if (!fs.getFileStatus(out).isDirectory()) {
      throw new UserError("--output " + output + " exists and is a file, not a dataset folder" + use);
    }
    for (FileStatus st : fs.listStatus(out)) {
      String name = st.getPath().getName();
      if (st.isDirectory() ? !name.equals("rejected") : !DatasetWriter.isDatasetFile(name)) {
        throw new UserError("--output " + output + " is not a dataset folder (it holds " + name + ")" + use);
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
    params.forEach((k, v) -> {
      Object theirs = m.parameters().get(k);
      // inputs and tokenizer are compared by content (the job key, the tokenizer's sha256) in the job
      if (!k.equals("input") && !k.equals("tokenizer") && !String.valueOf(v).equals(String.valueOf(theirs))) {
        differ.add(k + " " + theirs + " -> " + v);
      }
    });
    if (!differ.isEmpty()) {
      throw new UserError("--output " + output + " holds a dataset made with other settings ("
          + String.join(", ", differ) + ")" + use);
    }
    System.err.println("tokenize: " + output + " holds a finished dataset of these settings; checking that it "
        + "matches (use --overwrite to rebuild it)");
  }
}
