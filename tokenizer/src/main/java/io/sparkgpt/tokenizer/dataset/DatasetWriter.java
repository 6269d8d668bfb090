package io.sparkgpt.tokenizer.dataset;

import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The driver's side of writing a dataset: {@link #begin}, {@link #writeTokenizer}, then (after the
 * executors have committed their shards with {@link ShardWriter}) {@link #finish}, which writes
 * {@code manifest.json} last.
 */
public final class DatasetWriter {
  private static final Pattern SHARD_FILE =
      Pattern.compile("([a-z][a-z0-9_]*)-\\d{5,}(-\\d{5,})?\\.(bin|idx|shard\\.json)");

  private static final String TOKENIZER_JSON = "tokenizer.json";
  private static final String TOKENIZER_MODEL = "tokenizer.model";

  private DatasetWriter() {}

  /**
   * Call before writing shards. Returns the manifest if the folder already holds a finished dataset
   * of this layout whose files have the sizes it records (nothing to do; checksums are the reader's
   * job). Otherwise deletes any manifest (of another layout, unreadable, or whose files changed),
   * so that the folder reads as unfinished until {@link #finish}; finished shards of this layout
   * stay and are skipped by {@link ShardWriter#finished}.
   */
  public static Optional<Manifest> begin(DatasetFiles files, Layout layout) throws IOException {
    if (files.size(Manifest.FILE) >= 0) {
      try (InputStream in = files.open(Manifest.FILE)) {
        Manifest m = Manifest.read(in, Manifest.FILE);
        m.validate();
        if (m.layout().equals(layout) && sizesMatch(files, m)) {
          return Optional.of(m);
        }
      } catch (IllegalArgumentException e) {
        // unreadable or another version: replaced below
      }
      files.delete(Manifest.FILE);
    }
    return Optional.empty();
  }

  /**
   * What in the folder was not written by a job of {@code layout}, or empty: a file that is no
   * dataset file (a Parquet part, say), or a manifest or shard record of another layout (other
   * seq_len, tokenizer or job key), or one that cannot be read. A job that must not replace other
   * data calls this before {@link #begin}: only a dataset of the same job may be resumed (its
   * finished shards reused) or confirmed.
   */
  public static Optional<String> foreignFile(DatasetFiles files, Layout layout) throws IOException {
    for (String name : files.list()) {
      if (!isDatasetFile(name)) {
        return Optional.of(name + " (not a dataset file)");
      }
      boolean record = name.endsWith(".shard.json") && !DatasetFiles.isTemporary(name);
      if (!record && !name.equals(Manifest.FILE)) {
        continue;
      }
      Layout theirs;
      try (InputStream in = files.open(name)) {
        theirs =
            record
                ? Manifest.JSON.readValue(in, ShardWriter.Record.class).layout()
                : Manifest.read(in, name).layout();
      } catch (IOException | IllegalArgumentException e) {
        return Optional.of(name + " (unreadable: " + Manifest.firstLine(e.getMessage()) + ")");
      }
      if (!layout.equals(theirs)) {
        return Optional.of(name + " (" + differences(theirs, layout) + ")");
      }
    }
    return Optional.empty();
  }

  /** The dataset's HTML report (written by the tokenize command next to the manifest). */
  public static final String REPORT_HTML = "report.html";

  /**
   * Whether a job writing datasets may have written a file of this name: the manifest, shards, task
   * records, the tokenizer copy, the report.
   */
  public static boolean isDatasetFile(String name) {
    return DatasetFiles.isTemporary(name)
        || SHARD_FILE.matcher(name).matches()
        || name.equals(Manifest.FILE)
        || name.equals(TOKENIZER_JSON)
        || name.equals(TOKENIZER_MODEL)
        || TaskWriter.isRecord(name)
        || name.equals(REPORT_HTML);
  }

  /** "seq_len 16, this job 32; ...": the fields in which two layouts differ. */
  static String differences(Layout theirs, Layout ours) {
    List<String> d = new ArrayList<>();
    if (theirs == null) {
      return "no layout";
    }
    if (theirs.seqLen() != ours.seqLen()) {
      d.add("seq_len " + theirs.seqLen() + ", this job " + ours.seqLen());
    }
    if (theirs.format() != ours.format()) {
      d.add("format " + theirs.format().id() + ", this job " + ours.format().id());
    }
    if (!theirs.tokenizerSha256().equals(ours.tokenizerSha256())
        || theirs.vocabSize() != ours.vocabSize()) {
      d.add("another tokenizer");
    }
    if (!theirs.jobKey().equals(ours.jobKey())) {
      d.add("another job key: other inputs, seed, validation fraction or shard size");
    }
    return d.isEmpty() ? "another layout" : String.join("; ", d);
  }

  private static boolean sizesMatch(DatasetFiles files, Manifest m) throws IOException {
    if (files.size(m.tokenizer().file()) < 0) {
      return false;
    }
    for (Manifest.Shard s : m.allShards()) {
      if (files.size(s.file()) != s.bytes()
          || s.idxFile() != null && files.size(s.idxFile()) != s.idxBytes()) {
        return false;
      }
    }
    return true;
  }

  /**
   * Stores the tokenizer in the dataset folder and returns its manifest entry: a {@code .json} spec
   * is copied byte for byte to {@code tokenizer.json} and a {@code .model} to {@code
   * tokenizer.model}; any other byte-level BPE (bundled {@code r50k_base} / {@code cl100k_base},
   * {@code .tiktoken} files) is written as a {@code tokenizer.json} with the same ids, in a
   * canonical form whose sha256 is the same on every run. {@code spec} must be a local path when it
   * names a file; for remote files use {@link #writeTokenizerCopy}.
   */
  public static Manifest.TokenizerInfo writeTokenizer(
      DatasetFiles files, Tokenizer tokenizer, String spec) throws IOException {
    return writeTokenizerCopy(files, tokenizerCopy(tokenizer, spec), tokenizer.name());
  }

  /**
   * The file name and bytes {@link #writeTokenizer} stores, without writing them, and their SHA-256
   * (hashed once: the job's layout, its executors and the manifest all name it).
   */
  public static final class TokenizerCopy {
    private final String file;
    private final byte[] content;
    private final String sha256;

    /** {@code content} stored as {@code file} ({@code tokenizer.json} or {@code .model}). */
    public TokenizerCopy(String file, byte[] content) {
      this.file = file;
      this.content = content;
      this.sha256 = Sha256.of(content);
    }

    public String file() {
      return file;
    }

    public byte[] content() {
      return content;
    }

    public String sha256() {
      return sha256;
    }
  }

  /** What {@link #writeTokenizer} would store for {@code spec}. */
  public static TokenizerCopy tokenizerCopy(Tokenizer tokenizer, String spec) throws IOException {
    String lower = spec.toLowerCase(Locale.ROOT);
    Path path = lower.endsWith(".json") || lower.endsWith(".model") ? Path.of(spec) : null;
    if (path != null && Files.isRegularFile(path)) {
      return new TokenizerCopy(
          lower.endsWith(".json") ? TOKENIZER_JSON : TOKENIZER_MODEL, Files.readAllBytes(path));
    }
    ByteArrayOutputStream json = new ByteArrayOutputStream(1 << 20);
    try {
      Tokenizers.saveJson(tokenizer, json);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "cannot store tokenizer '"
              + spec
              + "' in the dataset: not a local .json"
              + " or .model file and not a byte-level BPE; use writeTokenizerCopy with a TokenizerCopy of the file's bytes");
    }
    return new TokenizerCopy(TOKENIZER_JSON, json.toByteArray());
  }

  /** Writes {@code copy} (atomically) and returns its manifest entry for tokenizer {@code name}. */
  public static Manifest.TokenizerInfo writeTokenizerCopy(
      DatasetFiles files, TokenizerCopy copy, String name) throws IOException {
    writeAtomically(files, copy.file(), copy.content());
    return new Manifest.TokenizerInfo(name, copy.file(), copy.sha256());
  }

  /**
   * Writes {@code manifest.json} once every shard is committed: {@code shardsPerSplit} names the
   * splits in order and how many shards each has (0 allowed), named {@link
   * ShardWriter#shardName(String, int)}. See {@link #finishShards}.
   *
   * @param seconds the job's wall time, for the statistics
   * @param parameters the job's flags, stored as given
   * @throws IOException naming the unfinished shards if any shard is missing or of another layout
   */
  public static Manifest finish(
      DatasetFiles files,
      Layout layout,
      Manifest.TokenizerInfo tokenizer,
      Map<String, Integer> shardsPerSplit,
      double seconds,
      Map<String, ?> parameters)
      throws IOException {
    return finish(files, layout, tokenizer, shardsPerSplit, Map.of(), seconds, parameters);
  }

  /**
   * {@link #finish(DatasetFiles, Layout, Manifest.TokenizerInfo, Map, double, Map)} with per-source
   * counts.
   */
  public static Manifest finish(
      DatasetFiles files,
      Layout layout,
      Manifest.TokenizerInfo tokenizer,
      Map<String, Integer> shardsPerSplit,
      Map<String, Manifest.Source> sources,
      double seconds,
      Map<String, ?> parameters)
      throws IOException {
    Map<String, List<Manifest.Shard>> shards = new LinkedHashMap<>();
    List<String> missing = new ArrayList<>();
    for (Map.Entry<String, Integer> e : shardsPerSplit.entrySet()) {
      List<Manifest.Shard> list = new ArrayList<>();
      for (int i = 0; i < e.getValue(); i++) {
        Optional<Manifest.Shard> s = ShardWriter.finished(files, e.getKey(), i, layout);
        if (s.isPresent()) {
          list.add(s.get());
        } else {
          missing.add(ShardWriter.shardName(e.getKey(), i));
        }
      }
      shards.put(e.getKey(), list);
    }
    if (!missing.isEmpty()) {
      throw new IOException(
          files
              + ": "
              + missing.size()
              + " shard(s) not finished ("
              + String.join(", ", missing.subList(0, Math.min(5, missing.size())))
              + (missing.size() > 5 ? ", ..." : "")
              + "); rerun the job to write them");
    }
    return finishShards(files, layout, tokenizer, shards, sources, seconds, parameters);
  }

  /**
   * Writes {@code manifest.json} once every shard is committed: {@code shards} lists, per split in
   * order, the committed shards in sample order; {@code sources} the per-source counts (may be
   * empty). Then deletes temporary files, task records ({@link TaskWriter}) and shard files of
   * these splits that the manifest does not list (left by an earlier run with other parameters).
   *
   * @param seconds the job's wall time, for the statistics
   * @param parameters the job's flags, stored as given
   * @throws IOException if a listed shard's files are missing or of another size
   */
  public static Manifest finishShards(
      DatasetFiles files,
      Layout layout,
      Manifest.TokenizerInfo tokenizer,
      Map<String, List<Manifest.Shard>> shards,
      Map<String, Manifest.Source> sources,
      double seconds,
      Map<String, ?> parameters)
      throws IOException {
    if (!tokenizer.sha256().equals(layout.tokenizerSha256())) {
      throw new IllegalArgumentException(
          "layout tokenizer_sha256 "
              + layout.tokenizerSha256()
              + " is not the tokenizer copy's "
              + tokenizer.sha256());
    }
    if (files.size(tokenizer.file()) < 0) {
      throw new IOException(files + ": tokenizer copy " + tokenizer.file() + " is missing");
    }
    Map<String, Manifest.Split> splits = new LinkedHashMap<>();
    Set<String> listed = new HashSet<>();
    for (Map.Entry<String, List<Manifest.Shard>> e : shards.entrySet()) {
      for (Manifest.Shard s : e.getValue()) {
        if (files.size(s.file()) != s.bytes()
            || s.idxFile() != null && files.size(s.idxFile()) != s.idxBytes()) {
          throw new IOException(
              files
                  + ": shard "
                  + s.file()
                  + " is missing or of another size than"
                  + " committed; rerun the job to rewrite it");
        }
        String name = s.file().substring(0, s.file().length() - ".bin".length());
        listed.add(ShardWriter.dataFile(name));
        listed.add(ShardWriter.indexFile(name));
        listed.add(ShardWriter.recordFile(name));
      }
      splits.put(e.getKey(), Manifest.Split.of(e.getValue()));
    }
    Manifest m =
        new Manifest(
            Manifest.FORMAT_VERSION,
            layout.format(),
            layout.dtype(),
            layout.vocabSize(),
            layout.eotId(),
            layout.seqLen(),
            layout.sampleTokens(),
            layout.jobKey(),
            tokenizer,
            splits,
            Manifest.Stats.of(splits, seconds),
            new LinkedHashMap<>(parameters),
            sources);
    m.validate();
    writeAtomically(files, Manifest.FILE, m.toBytes());
    for (String name : files.list()) {
      Matcher sm = SHARD_FILE.matcher(name);
      if (DatasetFiles.isTemporary(name)
          || TaskWriter.isRecord(name)
          || sm.matches() && shards.containsKey(sm.group(1)) && !listed.contains(name)) {
        files.delete(name);
      }
    }
    return m;
  }

  static void writeAtomically(DatasetFiles files, String name, byte[] content) throws IOException {
    String tmp =
        name
            + DatasetFiles.TEMP_MARKER
            + Long.toHexString(ThreadLocalRandom.current().nextLong() | 1L << 62);
    try {
      try (OutputStream out = files.create(tmp)) {
        out.write(content);
      }
      files.rename(tmp, name);
    } finally {
      files.delete(tmp);
    }
  }
}
