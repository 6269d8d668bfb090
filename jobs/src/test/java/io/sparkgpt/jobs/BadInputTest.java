package io.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgpt.cluster.DatasetLocation;
import io.sparkgpt.tokenizer.dataset.Manifest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11: what the commands do with hostile but realistic input. Every test reproduces one probe
 * of the issue (named in its comment) on data generated here.
 */
class BadInputTest {
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir static Path tmp;

  /** A small plain-text corpus: blank-line separated paragraphs of generated English. */
  static Path text;

  /** A finished dataset of {@link #text}: r50k_base, seq-len 16, seed 0. */
  static Path dataset;

  @BeforeAll
  static void corpus() throws IOException {
    StringBuilder b = new StringBuilder();
    String[] words = {
      "river", "stone", "market", "lantern", "harbour", "window", "garden", "letter", "winter",
      "morning", "bridge", "candle"
    };
    for (int p = 0; p < 60; p++) {
      for (int s = 0; s < 4; s++) {
        b.append("The ")
            .append(words[(p + s) % words.length])
            .append(" near the ")
            .append(words[(p * 7 + s * 3) % words.length])
            .append(" was seen on day ")
            .append(p * 4 + s)
            .append(". ");
      }
      b.append("\n\n");
    }
    text = tmp.resolve("corpus.txt");
    Files.writeString(text, b.toString());
    dataset = tmp.resolve("dataset");
    ok(tokenize(dataset, "16", "0"));
  }

  static Cli.Result tokenize(Path out, String seqLen, String seed, String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "tokenize",
                "--master",
                "local[1]",
                "-i",
                text.toString(),
                "--doc-split",
                "blank-line",
                "-t",
                "r50k_base",
                "-o",
                out.toString(),
                "--seq-len",
                seqLen,
                "--seed",
                seed,
                "--val-fraction",
                "0.1"));
    args.addAll(List.of(extra));
    return Cli.run(args.toArray(String[]::new));
  }

  static void ok(Cli.Result r) {
    assertEquals(0, r.code(), r.err());
  }

  /** Exit code 2 and one line of standard error containing every fragment. */
  static void usageError(Cli.Result r, String... fragments) {
    assertEquals(2, r.code(), r.err());
    String err = r.err().strip();
    assertFalse(err.contains("\n"), "one line: " + err);
    contains(err, fragments);
  }

  /**
   * Exit code {@code code}, and the last line of standard error (after any progress lines) has
   * every fragment.
   */
  static void lastLine(Cli.Result r, int code, String... fragments) {
    assertEquals(code, r.code(), r.err());
    String[] lines = r.err().strip().split("\n");
    contains(lines[lines.length - 1], fragments);
    assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
  }

  static void contains(String err, String... fragments) {
    for (String f : fragments) {
      assertTrue(err.contains(f), "'" + err + "' should contain '" + f + "'");
    }
  }

  static Path copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path p : s.toList()) {
        Path t = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          // with the times: the report is rewritten only when the manifest is newer, and a copy
          // without them
          // dates the files in walk order
          Files.copy(p, t, java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
    return to;
  }

  // Case 1: pretrain --data file:///... copied a shard named ../../x to tmp.resolve(x), outside the
  // cache folder.
  @Test
  void datasetCacheRefusesShardNamesThatLeaveTheFolder() throws IOException {
    Path ds = copyTree(dataset, tmp.resolve("hostile-dataset"));
    Path mf = ds.resolve(Manifest.FILE);
    ObjectNode m = (ObjectNode) JSON.readTree(mf.toFile());
    ObjectNode shard =
        (ObjectNode) ((ArrayNode) m.path("splits").path("train").path("shards")).get(0);
    Files.copy(ds.resolve(shard.path("file").asText()), tmp.resolve("planted.bin"));
    shard.put("file", "../../planted.bin");
    Files.write(mf, JSON.writeValueAsBytes(m));

    Path cache = Files.createDirectories(tmp.resolve("cache/sparkgpt-datasets"));
    IOException e =
        assertThrows(
            IOException.class,
            () -> DatasetLocation.localize(ds.toUri().toString(), new Configuration(), cache));
    assertTrue(
        e.getMessage()
            .contains("splits.train.shards[].file: '../../planted.bin' is not a plain file name"),
        e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
    // nothing was written next to the cache folder
    try (Stream<Path> s = Files.walk(tmp.resolve("cache"))) {
      assertEquals(List.of(), s.filter(Files::isRegularFile).toList());
    }
  }

  // Case 2: clean -i D -o D --overwrite replaced the raw text with Parquet; clean -i P/raw -o P did
  // the same;
  // tokenize -i C -o C --overwrite deleted its input, then failed with "input not found".
  @Test
  void overwriteNeverDeletesAnInput() throws IOException {
    Path raw = Files.createDirectories(tmp.resolve("project/raw"));
    Files.copy(text, raw.resolve("corpus.txt"));
    Path project = raw.getParent();
    byte[] before = Files.readAllBytes(raw.resolve("corpus.txt"));

    usageError(
        Cli.run("clean", "-i", raw.toString(), "-o", raw.toString(), "--overwrite"),
        "--output " + raw + " is the input " + raw + " (--input)");
    usageError(
        Cli.run("clean", "-i", raw.toString(), "-o", project.toString(), "--overwrite"),
        "--output " + project + " contains the input " + raw);
    usageError(
        Cli.run(
            "clean",
            "-i",
            raw.toString(),
            "-o",
            "/tmp/elsewhere",
            "--rejected",
            project.toString(),
            "--overwrite"),
        "--rejected " + project + " contains the input");
    usageError(
        Cli.run("clean", "-i", raw.toString(), "-o", raw.resolve("clean").toString()),
        "lies inside the input " + raw);
    usageError(
        Cli.run(
            "train-tokenizer",
            "-i",
            raw.resolve("corpus.txt").toString(),
            "-o",
            raw.resolve("corpus.txt").toString(),
            "--vocab-size",
            "300",
            "--overwrite"),
        "is the input");
    usageError(tokenize(raw, "16", "0", "-i", raw.toString(), "--overwrite"), "is the input");
    usageError(
        Cli.run("pipeline", "-i", raw.toString(), "-w", project.toString(), "--overwrite"),
        "--work-dir " + project + " contains the input " + raw);
    // a link to the input is the input
    Path link = Files.createSymbolicLink(tmp.resolve("link-to-raw"), raw);
    usageError(
        Cli.run("clean", "-i", raw.toString(), "-o", link.toString(), "--overwrite"),
        "is the input");
    assertTrue(Files.isDirectory(raw));
    assertEquals(List.of(raw.resolve("corpus.txt")), Files.list(raw).toList());
    assertTrue(java.util.Arrays.equals(before, Files.readAllBytes(raw.resolve("corpus.txt"))));

    // training commands: the run folder must not hold the dataset or the base checkpoint it reads
    usageError(
        Cli.run("train-local", "--data", dataset.toString(), "--output", dataset.toString()),
        "--output " + dataset + " is the input " + dataset + " (--data)");
    usageError(
        Cli.run(
            "pretrain",
            "--data",
            dataset.toString(),
            "--output",
            dataset.resolve("run").toString()),
        "lies inside the input " + dataset);
    Path run = tmp.resolve("run");
    usageError(
        Cli.run(
            "sft",
            "--base",
            run.resolve("checkpoint").toString(),
            "--data",
            text.toString(),
            "--output",
            run.toString()),
        "--output " + run + " contains the input " + run.resolve("checkpoint") + " (--base)");
    usageError(
        Cli.run(
            "dpo",
            "--base",
            run.resolve("checkpoint").toString(),
            "--data",
            text.toString(),
            "--output",
            run.toString()),
        "--output " + run + " contains the input " + run.resolve("checkpoint") + " (--base)");
    usageError(
        Cli.run(
            "ppo",
            "--policy",
            run.resolve("checkpoint").toString(),
            "--rule-reward",
            "token:a",
            "--prompts",
            text.toString(),
            "--output",
            run.toString()),
        "contains the input",
        "(--policy)");
  }

  static Map<String, byte[]> contents(Path dir) throws IOException {
    Map<String, byte[]> m = new TreeMap<>();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.filter(Files::isRegularFile).toList()) {
        m.put(dir.relativize(p).toString(), Files.readAllBytes(p));
      }
    }
    return m;
  }

  static void assertSameContents(Map<String, byte[]> before, Path dir) throws IOException {
    Map<String, byte[]> after = contents(dir);
    assertEquals(before.keySet(), after.keySet());
    before.forEach((k, v) -> assertTrue(java.util.Arrays.equals(v, after.get(k)), k + " changed"));
  }

  // Case 3: tokenize pointed at a finished dataset with another --seq-len or --seed rebuilt it;
  // pointed at a
  // Parquet folder it wrote shards into it.
  @Test
  void existingOutputOfAnotherJobNeedsOverwrite() throws IOException {
    Path ds = copyTree(dataset, tmp.resolve("finished"));
    Map<String, byte[]> before = contents(ds);
    usageError(
        tokenize(ds, "32", "0"),
        "--output " + ds + " holds a dataset made with other settings (seq_len 16 -> 32)",
        "--overwrite");
    usageError(tokenize(ds, "16", "7"), "(seed 0 -> 7)");
    assertSameContents(before, ds);
    // the same job confirms the dataset and changes nothing
    ok(tokenize(ds, "16", "0"));
    assertSameContents(before, ds);
    // other inputs (the same flags): refused by the job key once the job has read them
    Path other = tmp.resolve("other.txt");
    Files.writeString(other, Files.readString(text).replace("river", "ocean"));
    Cli.Result r =
        Cli.run(
            "tokenize",
            "--master",
            "local[1]",
            "-i",
            other.toString(),
            "--doc-split",
            "blank-line",
            "-t",
            "r50k_base",
            "-o",
            ds.toString(),
            "--seq-len",
            "16",
            "--seed",
            "0",
            "--val-fraction",
            "0.1");
    lastLine(r, 2, "holds data of another job: ", "(another job key: other inputs");
    assertSameContents(before, ds);
    // an unfinished dataset (no manifest yet) of another seq-len is not resumed either
    Files.delete(ds.resolve(Manifest.FILE));
    before = contents(ds);
    lastLine(
        tokenize(ds, "32", "0"),
        2,
        "holds data of another job: ",
        ".shard.json (seq_len 16, this job 32)");
    assertSameContents(before, ds);
    // with --overwrite it is rebuilt
    ok(tokenize(ds, "32", "0", "--overwrite"));
    assertTrue(Files.readString(ds.resolve(Manifest.FILE)).contains("\"seq_len\" : 32"));

    Path parquet = Files.createDirectories(tmp.resolve("parquet"));
    Files.write(parquet.resolve("part-00000-x.snappy.parquet"), new byte[] {'P', 'A', 'R', '1'});
    Files.write(parquet.resolve("_SUCCESS"), new byte[0]);
    before = contents(parquet);
    usageError(
        tokenize(parquet, "16", "0"),
        "--output " + parquet + " is not a dataset folder (it holds ");
    assertSameContents(before, parquet);
  }

  // Case 9: "bands": 0 crashed after 20 s with ArrayIndexOutOfBoundsException; a dedup threshold of
  // 5 or min_words
  // above max_words was accepted; a fractional value for an integer setting was truncated.
  @Test
  void everyNumberIsCheckedInConfigFilesAndOnTheCommandLine() throws IOException {
    String[][] configs = {
      {"{\"dedup\": {\"bands\": 0}}", "dedup.bands must be in [1, inf), not 0"},
      {"{\"dedup\": {\"threshold\": 5}}", "dedup.threshold must be in (0, 1], not 5"},
      {
        "{\"quality\": {\"min_words\": 500, \"max_words\": 100}}",
        "quality.max_words must be in [500, inf), not 100"
      },
      {"{\"dedup\": {\"bands\": 2.5}}", "dedup.bands must be an integer, not 2.5"},
      {
        "{\"language\": {\"sample_chars\": \"300\"}}",
        "language.sample_chars must be an integer, not \"300\""
      },
      {
        "{\"repetition\": {\"top_ngram_max_fraction\": [0.2, 1.5, 0.1]}}",
        "repetition.top_ngram_max_fraction[1] must be in [0, 1], not 1.5"
      },
    };
    for (String[] c : configs) {
      Path f = tmp.resolve("config.json");
      Files.writeString(f, c[0]);
      usageError(
          Cli.run(
              "clean",
              "-i",
              text.toString(),
              "-o",
              tmp.resolve("never").toString(),
              "--config",
              f.toString()),
          "--config " + f,
          c[1]);
    }
    String out = tmp.resolve("never").toString();
    usageError(
        Cli.run("clean", "-i", text.toString(), "-o", out, "--dedup-threshold", "5"),
        "--dedup-threshold must be in (0, 1], not 5.0");
    usageError(
        Cli.run("clean", "-i", text.toString(), "-o", out, "--partitions", "-1"),
        "--partitions must be in [0, inf), not -1");
    usageError(tokenize(tmp.resolve("never"), "2.5", "0"), "--seq-len", "'2.5' is not an int");
    usageError(
        tokenize(tmp.resolve("never"), "0", "0"), "--seq-len must be in [1, 268435454], not 0");
    usageError(
        tokenize(tmp.resolve("never"), "16", "0", "--shard-tokens", "0"),
        "--shard-tokens must be in [1, inf), not 0");
    usageError(
        Cli.run(
            "train-tokenizer",
            "-i",
            text.toString(),
            "-o",
            out,
            "--vocab-size",
            "300",
            "--held-out-fraction",
            "1"),
        "--held-out-fraction must be in [0, 1), not 1.0");
    String ckpt = tmp.resolve("no-checkpoint").toString();
    usageError(
        Cli.run("generate", "--checkpoint", ckpt, "--prompt", "a", "--top-p", "2"),
        "--top-p must be in (0, 1], not 2.0");
    usageError(
        Cli.run("generate", "--checkpoint", ckpt, "--prompt", "a", "--temperature", "-1"),
        "--temperature must be in [0, inf), not -1.0");
    usageError(
        Cli.run("generate", "--checkpoint", ckpt, "--prompt", "a", "--top-k", "-3"),
        "--top-k must be in [0, inf)");
    usageError(
        Cli.run("generate", "--checkpoint", ckpt, "--prompt", "a", "--max-new-tokens", "-1"),
        "--max-new-tokens");
    usageError(
        Cli.run("train-local", "--data", dataset.toString(), "--output", out, "--lr", "0"),
        "--lr must be in (0, inf), not 0.0");
    usageError(
        Cli.run("train-local", "--data", dataset.toString(), "--output", out, "--dropout", "1"),
        "--dropout must be in [0, 1)");
    usageError(
        Cli.run("pretrain", "--data", dataset.toString(), "--output", out, "--workers", "0"),
        "--workers must be in [1, inf), not 0");
    usageError(
        Cli.run("pretrain", "--data", dataset.toString(), "--output", out, "--lr", "NaN"),
        "--lr must be in (0, inf), not NaN");
    usageError(
        Cli.run(
            "ppo",
            "--policy",
            ckpt,
            "--rule-reward",
            "token:a",
            "--prompts",
            text.toString(),
            "--output",
            out,
            "--gamma",
            "1.5"),
        "--gamma must be in (0, 1], not 1.5");
    usageError(
        Cli.run(
            "sft", "--base", ckpt, "--data", text.toString(), "--output", out, "--seq-len", "1"),
        "--seq-len must be in [2, 268435454], not 1");
    usageError(
        Cli.run("dpo", "--base", ckpt, "--data", text.toString(), "--output", out, "--beta", "0"),
        "--beta must be in (0, inf), not 0.0");
    usageError(
        Cli.run("pipeline", "-i", text.toString(), "-w", out, "--vocab-size", "100"),
        "--vocab-size must be in [257, 16777216], not 100");
    assertFalse(Files.exists(tmp.resolve("never")));
  }

  /** Every numeric option of every command has a range in the table, so none goes unchecked. */
  @Test
  void everyNumericOptionHasARange() {
    List<String> missing = new ArrayList<>();
    new picocli.CommandLine(new SparkGpt())
        .getSubcommands()
        .forEach(
            (name, cl) -> {
              for (picocli.CommandLine.Model.OptionSpec o : cl.getCommandSpec().options()) {
                if (Settings.numeric(o) && Settings.range(name, o) == null) {
                  missing.add(name + " " + o.longestName());
                }
              }
            });
    assertEquals(List.of(), missing);
  }

  // Case 8: encode reported invalid UTF-8 "after line 0" whatever the line.
  @Test
  void encodeNamesTheLineWithInvalidUtf8() {
    byte[] in = {
      'o',
      'k',
      '\n',
      'f',
      'i',
      'n',
      'e',
      '\r',
      '\n',
      'b',
      'a',
      'd',
      (byte) 0xC3,
      '(',
      '\n',
      'x',
      '\n'
    };
    Cli.Result r = Cli.run(in, "encode", "-t", "r50k_base");
    assertEquals(2, r.code(), r.err());
    assertEquals(
        "encode: standard input line 3 is not valid UTF-8 (at byte 4 of the line)",
        r.err().strip());
    assertEquals(
        2, r.out().strip().split("\n").length, "the lines before it were encoded: " + r.out());
    Cli.Result whole = Cli.run(in, "encode", "-t", "r50k_base", "--whole");
    assertEquals(
        "encode: standard input line 3 is not valid UTF-8 (at byte 4 of the line)",
        whole.err().strip());
  }

  static byte[] gzip(byte[] data) throws IOException {
    java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
    try (var gz = new java.util.zip.GZIPOutputStream(b)) {
      gz.write(data);
    }
    return b.toByteArray();
  }

  // Case 8: a corrupt .gz aborted clean with EOFException without naming the file.
  @Test
  void corruptCompressedInputIsQuarantinedAndTheJobGoesOn() throws IOException {
    Path in = Files.createDirectories(tmp.resolve("gz-input"));
    byte[] good = Files.readAllBytes(text);
    Files.copy(text, in.resolve("good.txt"));
    byte[] gz = gzip(good);
    Files.write(in.resolve("truncated.txt.gz"), java.util.Arrays.copyOf(gz, gz.length / 2));
    Files.write(
        in.resolve("not-gzip.txt.gz"),
        "plain text, not gzip at all".getBytes(StandardCharsets.UTF_8));
    StringBuilder jsonl = new StringBuilder();
    for (String p : Files.readString(text).split("\n\n")) {
      jsonl.append(JSON.writeValueAsString(Map.of("text", p))).append('\n');
    }
    byte[] jgz = gzip(jsonl.toString().getBytes(StandardCharsets.UTF_8));
    Files.write(in.resolve("lines.jsonl.gz"), java.util.Arrays.copyOf(jgz, jgz.length * 2 / 3));
    Path out = tmp.resolve("gz-clean");
    Path report = tmp.resolve("gz-report.json");
    Path rejected = tmp.resolve("gz-rejected");
    Cli.Result r =
        Cli.run(
            "clean",
            "--master",
            "local[1]",
            "-i",
            in.toString(),
            "-o",
            out.toString(),
            "--doc-split",
            "blank-line",
            "--report",
            report.toString(),
            "--rejected",
            rejected.toString(),
            "--skip",
            "language,fuzzy_dedup,exact_dedup");
    ok(r);
    String rep = Files.readString(report);
    assertTrue(rep.contains("\"corrupt_compressed_input\" : 3"), rep);
    StringBuilder rej = new StringBuilder();
    try (Stream<Path> s = Files.walk(rejected)) {
      for (Path p : s.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
        rej.append(Files.readString(p));
      }
    }
    for (String f : List.of("truncated.txt.gz", "not-gzip.txt.gz", "lines.jsonl.gz")) {
      assertTrue(
          rej.toString()
              .matches("(?s).*corrupt_compressed_input[^\n]*" + f.replace(".", "\\.") + ".*"),
          f + " in " + rej);
    }
    // the printed summary counts them under their reason
    assertTrue(r.out().contains("corrupt_compressed_input=3"), r.out());
  }

  // Case 8: running out of memory printed a 25-line stack trace.
  @Test
  void outOfMemoryIsOneLineNamingTheSettingToRaise() {
    String here =
        SparkGpt.outOfMemory(
            new picocli.CommandLine.ExecutionException(
                new picocli.CommandLine(new SparkGpt()),
                "x",
                new OutOfMemoryError("Java heap space")));
    assertTrue(
        here.startsWith("out of memory: raise the driver's heap (SPARKGPT_DRIVER_MEMORY, now "),
        here);
    String executor =
        SparkGpt.outOfMemory(
            new RuntimeException(
                "Job aborted due to stage failure: Task 0 failed: "
                    + "java.lang.OutOfMemoryError: Java heap space\n\tat ..."));
    assertTrue(executor.startsWith("out of memory: raise spark.executor.memory"), executor);
    assertFalse(here.contains("\n") || executor.contains("\n"));
    assertEquals(null, SparkGpt.outOfMemory(new java.io.IOException("disk full")));
  }

  // Case 8, end to end: a real JVM out of heap prints one line, no stack trace, and exits 1.
  @Test
  void outOfMemoryInAJvmIsOneLine() throws Exception {
    Path big = tmp.resolve("big.txt");
    byte[] line =
        "the quick brown fox jumps over the lazy dog\n"
            .repeat(1000)
            .getBytes(StandardCharsets.US_ASCII);
    try (var out = Files.newOutputStream(big)) {
      for (int i = 0; i < 48 << 20; i += line.length) {
        out.write(line);
      }
    }
    Launched run = launch(big, "oom.err", "-Xmx48m", "encode", "--whole", "-t", "r50k_base");
    String err = run.err();
    assertEquals(1, run.code(), err);
    List<String> lines = err.lines().filter(l -> !l.isBlank()).toList();
    assertEquals(1, lines.size(), err);
    assertTrue(
        lines.get(0).matches("(sparkgpt|encode): out of memory: raise the driver's heap .*"), err);
  }

  // A wrong -Dsparkgpt.blas (the OpenBLAS choice, read before ND4J loads) is one line and exit 2.
  @Test
  void wrongBlasChoiceIsOneLine() throws Exception {
    Launched run = launch(null, "blas.err", "-Dsparkgpt.blas=bundeld", "--help");
    assertEquals(2, run.code(), run.err());
    assertEquals(
        List.of("sparkgpt: -Dsparkgpt.blas is 'system' (the default) or 'bundled', not 'bundeld'"),
        run.err().lines().filter(l -> !l.isBlank()).toList());
  }

  record Launched(int code, String err) {}

  /**
   * The launcher's {@code main} in a JVM of its own with {@code jvmOption}: what only a real
   * process shows (its exit code, its heap); standard input from {@code stdin} when given, standard
   * error kept in {@code errFile} under the test folder.
   */
  static Launched launch(Path stdin, String errFile, String jvmOption, String... args)
      throws IOException, InterruptedException {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                jvmOption,
                "-cp",
                System.getProperty("java.class.path"),
                "io.sparkgpt.jobs.SparkGpt"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(tmp.resolve(errFile).toFile());
    if (stdin != null) {
      pb.redirectInput(stdin.toFile());
    }
    Process p = pb.start();
    assertTrue(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS), "sparkgpt did not end");
    return new Launched(p.exitValue(), Files.readString(tmp.resolve(errFile)));
  }

  // tokenize's --tokenizer (loaded once, before Spark starts): an unknown name, a file that is not
  // a tokenizer and a missing one are each one line and exit 2.
  @Test
  void badTokenizerIsOneLine() throws IOException {
    Path garbage = tmp.resolve("garbage.json");
    Files.writeString(garbage, "{\"model\": 3");
    Map<String, String> cases =
        Map.of(
            "nope_base",
            "unknown tokenizer 'nope_base'",
            garbage.toString(),
            "malformed JSON",
            tmp.resolve("missing.model").toString(),
            "not found");
    cases.forEach(
        (spec, reason) ->
            usageError(
                Cli.run(
                    "tokenize",
                    "--master",
                    "local[1]",
                    "-i",
                    text.toString(),
                    "-t",
                    spec,
                    "--seq-len",
                    "16",
                    "-o",
                    tmp.resolve("bad-tokenizer").toString()),
                "--tokenizer " + spec,
                reason));
    assertFalse(Files.exists(tmp.resolve("bad-tokenizer")), "nothing written");
  }

  static String readParts(Path dir) throws IOException {
    StringBuilder b = new StringBuilder();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p :
          s.filter(p -> p.getFileName().toString().startsWith("part-")).sorted().toList()) {
        b.append(Files.readString(p));
      }
    }
    return b.toString();
  }

  // Case 5: clean rebuilt quarantined records from lines joined with \n (CRLF became LF, the final
  // newline
  // vanished) and its byte offsets drifted after a CRLF.
  @Test
  void quarantineKeepsTheExactBytesAndFileOffsets() throws IOException {
    Path in = Files.createDirectories(tmp.resolve("crlf"));
    java.io.ByteArrayOutputStream f = new java.io.ByteArrayOutputStream();
    f.write("para one\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    int badStart = f.size();
    f.write("para ".getBytes(StandardCharsets.US_ASCII));
    int badByte = f.size();
    f.write(0xFE);
    f.write(" two\r\nend\r\n".getBytes(StandardCharsets.US_ASCII));
    int badEnd = f.size();
    f.write("\r\nthird para\r\n".getBytes(StandardCharsets.US_ASCII));
    byte[] bytes = f.toByteArray();
    Files.write(in.resolve("crlf.txt"), bytes);
    Path out = tmp.resolve("crlf-clean");
    Path rejected = tmp.resolve("crlf-rejected");
    ok(
        Cli.run(
            "clean",
            "--master",
            "local[1]",
            "-i",
            in.toString(),
            "-o",
            out.toString(),
            "--output-format",
            "jsonl",
            "--doc-split",
            "blank-line",
            "--rejected",
            rejected.toString(),
            "--skip",
            "quality,repetition,code_quality,language,pii,exact_dedup,fuzzy_dedup"));
    List<com.fasterxml.jackson.databind.JsonNode> quarantined = new ArrayList<>();
    for (String line : readParts(rejected).split("\n")) {
      if (!line.isBlank()) {
        quarantined.add(JSON.readTree(line));
      }
    }
    assertEquals(1, quarantined.size(), quarantined.toString());
    com.fasterxml.jackson.databind.JsonNode q = quarantined.get(0);
    assertEquals("invalid_utf8", q.path("rule").asText());
    byte[] raw = java.util.Base64.getDecoder().decode(q.path("raw_base64").asText());
    assertTrue(
        java.util.Arrays.equals(java.util.Arrays.copyOfRange(bytes, badStart, badEnd), raw),
        "exact bytes, CRLF and final line end included: "
            + new String(raw, StandardCharsets.ISO_8859_1));
    assertTrue(q.path("id").asText().endsWith(String.format("-%012d", badStart)), q.toString());
    assertEquals(
        "invalid_utf8: invalid UTF-8 at byte " + badByte + " of the file",
        q.path("reason").asText());
    // kept documents' text has no \r and no trailing line end
    String kept = readParts(out);
    assertTrue(
        kept.contains("\"text\":\"para one\"") && kept.contains("\"text\":\"third para\""), kept);
  }

  // Case 6: resuming with another learning rate, batch size or warm-up (including a default that
  // differs from the
  // first run's flag) trained on with the new values, and the tokens column jumped.
  @Test
  void resumeWithOtherSettingsNeedsAllowConfigChange() throws IOException {
    Path run = tmp.resolve("resume-run");
    List<String> base =
        List.of(
            "train-local",
            "--data",
            dataset.toString(),
            "--output",
            run.toString(),
            "--block-size",
            "16",
            "--d-model",
            "8",
            "--layers",
            "1",
            "--heads",
            "2",
            "--batch-size",
            "2",
            "--eval-every",
            "0",
            "--threads",
            "1");
    List<String> first = new ArrayList<>(base);
    first.addAll(List.of("--steps", "2", "--warmup", "1"));
    ok(Cli.run(first.toArray(String[]::new)));
    List<String> again = new ArrayList<>(base);
    again.addAll(
        List.of(
            "--steps", "3", "--lr", "2e-3")); // --warmup left out: its default 100 is a change too
    lastLine(
        Cli.run(again.toArray(String[]::new)),
        2,
        "was written with other settings (",
        "max_lr 0.001 -> 0.002",
        "min_lr 1.0E-4 -> 2.0E-4",
        "warmup_steps 1 -> 100",
        "--allow-config-change");
    again.add("--allow-config-change");
    ok(Cli.run(again.toArray(String[]::new)));
    List<com.fasterxml.jackson.databind.JsonNode> m = new ArrayList<>();
    for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
      com.fasterxml.jackson.databind.JsonNode n = JSON.readTree(line);
      if (!n.has("val_loss")) {
        m.add(n);
      }
    }
    assertEquals(List.of(1L, 2L, 2L, 3L), m.stream().map(n -> n.get("step").asLong()).toList());
    assertTrue(
        m.get(2).get("config_change").toString().contains("warmup_steps 1 -> 100"),
        m.get(2).toString());
    assertEquals(m.get(1).get("tokens").asLong() * 3 / 2, m.get(3).get("tokens").asLong());
  }
}
