package io.sparkgpt.jobs.tokenize;

import io.sparkgpt.jobs.UserError;
import io.sparkgpt.jobs.input.Doc;
import io.sparkgpt.jobs.input.DocReader;
import io.sparkgpt.jobs.input.Inputs;
import io.sparkgpt.tokenizer.IntArray;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.dataset.DatasetFiles;
import io.sparkgpt.tokenizer.dataset.DatasetWriter;
import io.sparkgpt.tokenizer.dataset.DocumentSplit;
import io.sparkgpt.tokenizer.dataset.Dtype;
import io.sparkgpt.tokenizer.dataset.Format;
import io.sparkgpt.tokenizer.dataset.Layout;
import io.sparkgpt.tokenizer.dataset.Manifest;
import io.sparkgpt.tokenizer.dataset.ShardWriter;
import io.sparkgpt.tokenizer.dataset.TaskWriter;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.PositionedReadable;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * Encodes a corpus into a sharded token dataset. A document's split (train or val) comes from a
 * hash of its id.
 *
 * <p>By default nothing is exchanged between tasks: each task encodes its input split and writes
 * its own shards ({@link TaskWriter}), documents in input order, committing them and then a task
 * record; the reader permutes samples across all shards every epoch. The shards depend on the
 * input, the seed and the number of input splits (fixed by --partitions and the files, never by the
 * number of cores), and a rerun skips the tasks committed.
 *
 * <p>With --global-shuffle every document also gets a shuffle key from its id, and each shard, a
 * range of keys, is written in key order, so the shards are the same for any partitioning. Only
 * compact keys are shuffled: each task first spills its encoded tokens to a file of its own, and a
 * shard's task reads its documents back from them.
 */
public final class TokenizeJob {
  public record Options(
      List<String> inputs,
      Inputs.Format inputFormat,
      DocReader.Options read,
      String tokenizer,
      String output,
      int seqLen,
      double valFraction,
      long shardTokens,
      long seed,
      Format format,
      int partitions,
      boolean globalShuffle,
      boolean overwrite,
      Map<String, Object> parameters) {}

  /**
   * Input bytes per task when --partitions is not given: a core-independent default, so shards are
   * reproducible.
   */
  static final long BYTES_PER_PARTITION = 64L << 20;

  static final String SPILL_DIR = "_spill";
  private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  /** Receives a task's documents as they are encoded. */
  interface EncodedSink {
    void document(String id, String split, String source, IntArray ids, long textBytes)
        throws IOException;

    void rejected(String id, String split, String source) throws IOException;
  }

  /**
   * One document of --global-shuffle: where its tokens lie in its task's spill file ({@code tokens}
   * -1 for a rejected document). A class, not a record: Spark's Kryo cannot construct records.
   */
  static final class DocKey implements Serializable {
    long shuffleKey;
    String id;
    boolean val;
    int task;
    long offset;
    int tokens;
    long textBytes;
    String source;
  }

  /**
   * Shard-internal order: the shuffle key as unsigned, then the id (a tie-break for hash
   * collisions).
   */
  static final class KeyOrder implements Comparator<DocKey>, Serializable {
    @Override
    public int compare(DocKey a, DocKey b) {
      int c = DocumentSplit.compareKeys(a.shuffleKey, b.shuffleKey);
      return c != 0 ? c : a.id.compareTo(b.id);
    }
  }

  /**
   * One partition per shard: the train shards, then the val shards; a shard is the range of keys it
   * covers.
   */
  static final class ByShard extends Partitioner {
    private final int train;
    private final int val;

    ByShard(int train, int val) {
      this.train = train;
      this.val = val;
    }

    @Override
    public int numPartitions() {
      return train + val;
    }

    @Override
    public int getPartition(Object key) {
      DocKey k = (DocKey) key;
      return k.val
          ? train + DocumentSplit.shardOf(k.shuffleKey, val)
          : DocumentSplit.shardOf(k.shuffleKey, train);
    }
  }

  private TokenizeJob() {}

  /**
   * The tokenizer of a job, loaded, and its copy for the dataset (canonical {@code tokenizer.json}
   * for a named encoding: about 0.9 s of cold code for r50k_base) being made on a thread of its
   * own, so that a caller who prepares before starting Spark overlaps the two.
   */
  public record Prepared(Tokenizer tokenizer, CompletableFuture<DatasetWriter.TokenizerCopy> copy) {
    DatasetWriter.TokenizerCopy awaitCopy(String spec) throws IOException {
      try {
        return copy.join();
      } catch (CompletionException e) {
        if (e.getCause() instanceof IllegalArgumentException bad) {
          throw new UserError("--tokenizer " + spec + ": " + bad.getMessage());
        }
        if (e.getCause() instanceof IOException io) {
          throw io;
        }
        throw e;
      }
    }
  }

  /** Loads {@code spec} (a bad one is a one-line user error) and starts making its copy. */
  public static Prepared prepare(String spec) {
    Tokenizer tok = TokenizerOption.load(spec);
    return new Prepared(
        tok,
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return DatasetWriter.tokenizerCopy(tok, spec);
              } catch (IOException e) {
                throw new CompletionException(e);
              }
            }));
  }

  public static Manifest run(SparkSession spark, Options o, Consumer<String> phase)
      throws IOException {
    return run(spark, o, prepare(o.tokenizer()), phase);
  }

  /** Runs the job with a tokenizer {@link #prepare}d from {@code o.tokenizer()}. */
  public static Manifest run(
      SparkSession spark, Options o, Prepared prepared, Consumer<String> phase) throws IOException {
    long start = System.nanoTime();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Path out = new Path(o.output());
    FileSystem fs = out.getFileSystem(jsc.hadoopConfiguration());
    if (o.overwrite() && fs.exists(out)) {
      fs.delete(out, true);
    }
    HadoopDatasetFiles files = new HadoopDatasetFiles(o.output(), jsc.hadoopConfiguration());
    List<Inputs.InputFile> inputs =
        Inputs.expand(jsc.hadoopConfiguration(), o.inputs(), o.inputFormat());
    int partitions = o.partitions() > 0 ? o.partitions() : defaultPartitions(inputs);

    // The tokenizer (loaded by prepare, to fail fast): stored in the dataset once the folder is
    // known to be this job's, shipped to executors as those bytes.
    Tokenizer driverTokenizer = prepared.tokenizer();
    DatasetWriter.TokenizerCopy tokCopy = prepared.awaitCopy(o.tokenizer());
    Map<String, Object> params = new LinkedHashMap<>(o.parameters());
    params.put("input_files", inputs.size());
    params.put("partitions", partitions);

    // Parquet splits otherwise depend on the number of cores (Spark divides the bytes by the
    // default parallelism). Only then: the first spark.conf() starts Spark SQL's session state,
    // about a second of cold code that text and JSONL input never use.
    boolean parquet = inputs.stream().anyMatch(f -> f.format() == Inputs.Format.PARQUET);
    String minPartitionsConf = "spark.sql.files.minPartitionNum";
    String previous =
        parquet && spark.conf().contains(minPartitionsConf)
            ? spark.conf().get(minPartitionsConf)
            : null;
    if (parquet) {
      spark.conf().set(minPartitionsConf, Integer.toString(partitions));
    }
    TokenizerSource source = TokenizerSource.shared(tokCopy, driverTokenizer);
    try {
      Broadcast<TokenizerSource> tokenizer = jsc.broadcast(source);
      JavaRDD<Doc> docs = DocReader.read(spark, inputs, o.read(), partitions);
      Manifest m =
          o.globalShuffle()
              ? globalShuffle(
                  docs, o, files, tokenizer, driverTokenizer, tokCopy, inputs, params, start, phase)
              : taskShards(
                  docs,
                  o,
                  files,
                  tokenizer,
                  driverTokenizer,
                  tokCopy,
                  inputs,
                  partitions,
                  params,
                  start,
                  phase);
      fs.delete(new Path(out, SPILL_DIR), true);
      return m;
    } finally {
      source.close();
      if (parquet) {
        if (previous == null) {
          spark.conf().unset(minPartitionsConf);
        } else {
          spark.conf().set(minPartitionsConf, previous);
        }
      }
    }
  }

  /** One partition per 64 MiB of input files, at least one. */
  static int defaultPartitions(List<Inputs.InputFile> inputs) {
    long bytes = inputs.stream().mapToLong(Inputs.InputFile::size).sum();
    return (int)
        Math.max(1, Math.min(99_999, (bytes + BYTES_PER_PARTITION - 1) / BYTES_PER_PARTITION));
  }

  /** The default: every task writes the shards of its own input split; no shuffle. */
  private static Manifest taskShards(
      JavaRDD<Doc> docs,
      Options o,
      HadoopDatasetFiles files,
      Broadcast<TokenizerSource> tokenizer,
      Tokenizer driverTokenizer,
      DatasetWriter.TokenizerCopy tokCopy,
      List<Inputs.InputFile> inputs,
      int partitions,
      Map<String, Object> params,
      long start,
      Consumer<String> phase)
      throws IOException {
    Layout layout =
        Layout.of(
            o.format(),
            driverTokenizer,
            o.seqLen(),
            tokCopy.sha256(),
            jobKey(
                inputs,
                o,
                "order=input partitions=" + partitions + " shard_tokens=" + o.shardTokens()));
    Manifest.TokenizerInfo tokInfo = claimFolder(files, layout, o, tokCopy, driverTokenizer);
    Optional<Manifest> done = DatasetWriter.begin(files, layout);
    if (done.isPresent()) {
      phase.accept("already complete");
      return done.get();
    }
    phase.accept("encoding and writing");
    HadoopDatasetFiles rejectedFiles = files.sub("rejected");
    double valFraction = o.valFraction();
    long seed = o.seed();
    long shardTokens = o.shardTokens();
    // as JSON: Spark's Kryo cannot construct records
    List<byte[]> results =
        docs.mapPartitionsWithIndex(
                (task, it) ->
                    List.of(
                            writeTask(
                                    files,
                                    rejectedFiles,
                                    layout,
                                    task,
                                    it,
                                    tokenizer.value().get(),
                                    valFraction,
                                    seed,
                                    shardTokens)
                                .toJson())
                        .iterator(),
                false)
            .collect();
    List<TaskWriter.Result> tasks = new ArrayList<>();
    for (byte[] r : results) {
      tasks.add(TaskWriter.Result.fromJson(r));
    }

    phase.accept("writing the manifest");
    Map<String, List<Manifest.Shard>> shards = new LinkedHashMap<>();
    shards.put(Manifest.TRAIN, new ArrayList<>());
    shards.put(Manifest.VALIDATION, new ArrayList<>());
    Map<String, Manifest.Source> sources = new TreeMap<>();
    Set<String> rejectedParts = new HashSet<>();
    for (TaskWriter.Result t : tasks) {
      t.shards()
          .forEach(
              (split, list) -> shards.computeIfAbsent(split, k -> new ArrayList<>()).addAll(list));
      Manifest.Source.addAll(sources, t.sources());
      if (t.sources().values().stream().anyMatch(s -> s.rejectedDocuments() > 0)) {
        rejectedParts.add(rejectedFile(t.task()));
      }
    }
    deleteOtherRejectedParts(rejectedFiles, rejectedParts);
    Map<String, Integer> counts = new LinkedHashMap<>();
    shards.forEach((split, list) -> counts.put(split, list.size()));
    params.put("shards", counts);
    return DatasetWriter.finishShards(
        files, layout, tokInfo, shards, sources, (System.nanoTime() - start) / 1e9, params);
  }

  static TaskWriter.Result writeTask(
      DatasetFiles files,
      DatasetFiles rejectedFiles,
      Layout layout,
      int task,
      Iterator<Doc> docs,
      Tokenizer tok,
      double valFraction,
      long seed,
      long shardTokens)
      throws IOException {
    Optional<TaskWriter.Result> done = TaskWriter.finished(files, task, layout);
    if (done.isPresent()) {
      return done
          .get(); // committed by an earlier run: identical by construction, and its input is not
      // read
    }
    try (TaskWriter w = TaskWriter.create(files, task, layout, shardTokens)) {
      List<String> rejected =
          encode(
              docs,
              tok,
              valFraction,
              seed,
              new EncodedSink() {
                @Override
                public void document(
                    String id, String split, String source, IntArray ids, long textBytes)
                    throws IOException {
                  w.addDocument(split, source, ids.array(), 0, ids.size(), textBytes);
                }

                @Override
                public void rejected(String id, String split, String source) {
                  w.addRejected(split, source);
                }
              });
      writeRejected(rejectedFiles, task, rejected);
      return w.commit();
    }
  }

  /**
   * Encodes a task's documents in input order and hands them to {@code sink}; returns the rejected
   * ones (undecodable or failing to encode) as JSON lines.
   */
  static List<String> encode(
      Iterator<Doc> docs, Tokenizer tok, double valFraction, long seed, EncodedSink sink)
      throws IOException {
    IntArray buf = new IntArray(1 << 16);
    List<String> rejected = new ArrayList<>();
    while (docs.hasNext()) {
      Doc d = docs.next();
      String split = DocumentSplit.split(d.id(), valFraction, seed);
      String source = d.metadata().getOrDefault("source", d.source());
      String reason = d.kept() ? null : d.reason();
      if (reason == null) {
        buf.clear();
        try {
          tok.encode(d.text(), buf);
        } catch (RuntimeException ex) {
          reason = "encode_failed: " + ex.getMessage();
        }
      }
      if (reason == null) {
        sink.document(d.id(), split, source, buf, d.textBytes());
      } else {
        sink.rejected(d.id(), split, source);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", d.id());
        m.put("source", source);
        m.put("split", split);
        m.put("reason", reason);
        rejected.add(JSON.writeValueAsString(m));
      }
    }
    return rejected;
  }

  static String rejectedFile(int task) {
    return String.format(Locale.ROOT, "part-%05d.jsonl", task);
  }

  /**
   * The task's rejected documents, {@code rejected/part-TASK.jsonl} (written atomically), if it has
   * any.
   */
  static void writeRejected(DatasetFiles rejectedFiles, int task, List<String> lines)
      throws IOException {
    if (lines.isEmpty()) {
      return;
    }
    String name = rejectedFile(task);
    String tmp =
        name
            + DatasetFiles.TEMP_MARKER
            + Long.toHexString(ThreadLocalRandom.current().nextLong() | 1L << 62);
    try {
      try (OutputStream out = new BufferedOutputStream(rejectedFiles.create(tmp))) {
        for (String l : lines) {
          out.write(l.getBytes(StandardCharsets.UTF_8));
          out.write('\n');
        }
      }
      rejectedFiles.rename(tmp, name);
    } finally {
      rejectedFiles.delete(tmp);
    }
  }

  /**
   * Deletes files of rejected/ that no task of this run wrote (an earlier run's, or temporary
   * ones).
   */
  static void deleteOtherRejectedParts(HadoopDatasetFiles rejectedFiles, Set<String> keep)
      throws IOException {
    if (!rejectedFiles.exists()) {
      return;
    }
    for (String name : rejectedFiles.list()) {
      if (!keep.contains(name)) {
        rejectedFiles.delete(name);
      }
    }
  }

  /**
   * --global-shuffle: spill tokens per task, shuffle the keys, write each shard in key order from
   * the spills.
   */
  private static Manifest globalShuffle(
      JavaRDD<Doc> docs,
      Options o,
      HadoopDatasetFiles files,
      Broadcast<TokenizerSource> tokenizer,
      Tokenizer driverTokenizer,
      DatasetWriter.TokenizerCopy tokCopy,
      List<Inputs.InputFile> inputs,
      Map<String, Object> params,
      long start,
      Consumer<String> phase)
      throws IOException {
    phase.accept("encoding and spilling");
    HadoopDatasetFiles spill = files.sub(SPILL_DIR);
    HadoopDatasetFiles rejectedFiles = files.sub("rejected");
    int tokenBytes = Dtype.forVocab(o.format(), driverTokenizer.vocabSize()).bytes();
    double valFraction = o.valFraction();
    long seed = o.seed();
    JavaRDD<DocKey> keys =
        docs.mapPartitionsWithIndex(
                (task, it) ->
                    spillTask(
                            spill,
                            rejectedFiles,
                            task,
                            it,
                            tokenizer.value().get(),
                            tokenBytes,
                            valFraction,
                            seed)
                        .iterator(),
                false)
            .persist(StorageLevel.MEMORY_AND_DISK_SER());
    // per split: tokens (end-of-text included), then per source: documents, tokens, text bytes,
    // rejected
    List<Map<String, long[]>> partials =
        keys.mapPartitions(
                it -> {
                  Map<String, long[]> c = new HashMap<>();
                  while (it.hasNext()) {
                    DocKey k = it.next();
                    if (k.tokens >= 0) {
                      c.computeIfAbsent(
                                  "split\t" + (k.val ? Manifest.VALIDATION : Manifest.TRAIN),
                                  x -> new long[1])[0] +=
                          k.tokens + 1L;
                    }
                    long[] s = c.computeIfAbsent("source\t" + k.source, x -> new long[4]);
                    if (k.tokens > 0) {
                      s[0]++;
                      s[1] += k.tokens + 1L;
                      s[2] += k.textBytes;
                    } else if (k.tokens < 0) {
                      s[3]++;
                    }
                  }
                  return List.of(c).iterator();
                })
            .collect();
    Map<String, Long> tokensPerSplit =
        new LinkedHashMap<>(Map.of(Manifest.TRAIN, 0L, Manifest.VALIDATION, 0L));
    Map<String, Manifest.Source> sources = new TreeMap<>();
    Set<String> rejectedParts = new HashSet<>();
    for (Map<String, long[]> c : partials) {
      c.forEach(
          (k, v) -> {
            String name = k.substring(k.indexOf('\t') + 1);
            if (k.startsWith("split\t")) {
              tokensPerSplit.merge(name, v[0], Long::sum);
            } else {
              sources.merge(
                  name, new Manifest.Source(v[0], v[1], v[2], v[3]), Manifest.Source::plus);
            }
          });
    }
    Map<String, Integer> shards = new LinkedHashMap<>();
    for (String split : List.of(Manifest.TRAIN, Manifest.VALIDATION)) {
      long t = tokensPerSplit.get(split);
      shards.put(split, (int) Math.max(t > 0 ? 1 : 0, (t + o.shardTokens() - 1) / o.shardTokens()));
    }
    Layout layout =
        Layout.of(
            o.format(),
            driverTokenizer,
            o.seqLen(),
            tokCopy.sha256(),
            jobKey(inputs, o, "order=global shards=" + shards));
    Manifest.TokenizerInfo tokInfo = claimFolder(files, layout, o, tokCopy, driverTokenizer);
    Optional<Manifest> done = DatasetWriter.begin(files, layout);
    if (done.isPresent()) {
      keys.unpersist(false);
      phase.accept("already complete");
      return done.get();
    }
    int train = shards.get(Manifest.TRAIN);
    int val = shards.get(Manifest.VALIDATION);
    if (train + val > 0) {
      phase.accept("writing " + train + " train and " + val + " val shards");
      keys.mapToPair(
              k -> {
                k.source = null; // not needed any more: keep it out of the shuffle
                return new Tuple2<DocKey, Boolean>(k, Boolean.TRUE);
              })
          .repartitionAndSortWithinPartitions(new ByShard(train, val), new KeyOrder())
          .foreachPartition(
              it -> {
                int p = org.apache.spark.TaskContext.getPartitionId();
                writeShard(
                    files,
                    spill,
                    p < train ? Manifest.TRAIN : Manifest.VALIDATION,
                    p < train ? p : p - train,
                    layout,
                    it);
              });
    }
    keys.filter(k -> k.tokens < 0)
        .map(k -> rejectedFile(k.task))
        .distinct()
        .collect()
        .forEach(rejectedParts::add);
    keys.unpersist(false);
    deleteOtherRejectedParts(rejectedFiles, rejectedParts);
    params.put("shards", shards);
    return DatasetWriter.finish(
        files, layout, tokInfo, shards, sources, (System.nanoTime() - start) / 1e9, params);
  }

  /**
   * Encodes a task's documents into its spill file, {@code _spill/spill-TASK}, and returns their
   * keys.
   */
  static List<DocKey> spillTask(
      DatasetFiles spill,
      DatasetFiles rejectedFiles,
      int task,
      Iterator<Doc> docs,
      Tokenizer tok,
      int tokenBytes,
      double valFraction,
      long seed)
      throws IOException {
    String name = spillFile(task);
    String tmp =
        name
            + DatasetFiles.TEMP_MARKER
            + Long.toHexString(ThreadLocalRandom.current().nextLong() | 1L << 62);
    List<DocKey> keys = new ArrayList<>();
    try {
      try (OutputStream out = new BufferedOutputStream(spill.create(tmp), 1 << 20)) {
        long[] offset = {0};
        byte[] bytes = new byte[1 << 16];
        List<String> rejected =
            encode(
                docs,
                tok,
                valFraction,
                seed,
                new EncodedSink() {
                  @Override
                  public void document(
                      String id, String split, String source, IntArray ids, long textBytes)
                      throws IOException {
                    DocKey k = key(id, split, source, task, seed);
                    k.offset = offset[0];
                    k.tokens = ids.size();
                    k.textBytes = textBytes;
                    keys.add(k);
                    int[] a = ids.array();
                    int pos = 0;
                    for (int i = 0; i < ids.size(); i++) {
                      if (pos + 4 > bytes.length) {
                        out.write(bytes, 0, pos);
                        pos = 0;
                      }
                      bytes[pos] = (byte) a[i];
                      bytes[pos + 1] = (byte) (a[i] >>> 8);
                      if (tokenBytes == 4) {
                        bytes[pos + 2] = (byte) (a[i] >>> 16);
                        bytes[pos + 3] = (byte) (a[i] >>> 24);
                      }
                      pos += tokenBytes;
                    }
                    out.write(bytes, 0, pos);
                    offset[0] += (long) ids.size() * tokenBytes;
                  }

                  @Override
                  public void rejected(String id, String split, String source) {
                    DocKey k = key(id, split, source, task, seed);
                    k.tokens = -1;
                    keys.add(k);
                  }
                });
        writeRejected(rejectedFiles, task, rejected);
      }
      spill.rename(tmp, name);
    } finally {
      spill.delete(tmp);
    }
    return keys;
  }

  private static DocKey key(String id, String split, String source, int task, long seed) {
    DocKey k = new DocKey();
    k.shuffleKey = DocumentSplit.shuffleKey(id, seed);
    k.id = id;
    k.val = split.equals(Manifest.VALIDATION);
    k.source = source;
    k.task = task;
    return k;
  }

  static String spillFile(int task) {
    return String.format(Locale.ROOT, "spill-%05d", task);
  }

  /**
   * Writes shard {@code index} of {@code split} from its documents in key order, reading their
   * tokens back.
   */
  static void writeShard(
      DatasetFiles files,
      HadoopDatasetFiles spill,
      String split,
      int index,
      Layout layout,
      Iterator<Tuple2<DocKey, Boolean>> docs)
      throws IOException {
    if (ShardWriter.finished(files, split, index, layout).isPresent()) {
      return; // committed by an earlier run: identical by construction
    }
    int tokenBytes = layout.dtype().bytes();
    Map<Integer, PositionedReadable> open = new HashMap<>();
    byte[] bytes = new byte[1 << 16];
    int[] ids = new int[1 << 14];
    try (ShardWriter w = ShardWriter.create(files, split, index, layout)) {
      while (docs.hasNext()) {
        DocKey k = docs.next()._1;
        if (k.tokens < 0) {
          w.addRejected(1);
          continue;
        }
        int n = k.tokens * tokenBytes;
        if (n > bytes.length) {
          bytes = new byte[Math.max(n, bytes.length * 2)];
        }
        if (k.tokens > ids.length) {
          ids = new int[Math.max(k.tokens, ids.length * 2)];
        }
        PositionedReadable in = open.get(k.task);
        if (in == null) {
          in = (PositionedReadable) spill.open(spillFile(k.task));
          open.put(k.task, in);
        }
        in.readFully(k.offset, bytes, 0, n);
        for (int i = 0, b = 0; i < k.tokens; i++, b += tokenBytes) {
          ids[i] =
              tokenBytes == 2
                  ? (bytes[b] & 0xFF) | (bytes[b + 1] & 0xFF) << 8
                  : (bytes[b] & 0xFF)
                      | (bytes[b + 1] & 0xFF) << 8
                      | (bytes[b + 2] & 0xFF) << 16
                      | bytes[b + 3] << 24;
        }
        w.addDocument(ids, 0, k.tokens, k.textBytes);
      }
      w.commit();
    } finally {
      for (PositionedReadable in : open.values()) {
        ((java.io.Closeable) in).close();
      }
    }
  }

  /**
   * Without --overwrite, only a dataset of this very job may be resumed or confirmed: anything else
   * is refused before the first write. Then the tokenizer copy is stored.
   */
  private static Manifest.TokenizerInfo claimFolder(
      HadoopDatasetFiles files,
      Layout layout,
      Options o,
      DatasetWriter.TokenizerCopy tokCopy,
      Tokenizer driverTokenizer)
      throws IOException {
    if (!o.overwrite()) {
      Optional<String> foreign = DatasetWriter.foreignFile(files, layout);
      if (foreign.isPresent()) {
        throw new UserError(
            "--output "
                + o.output()
                + " holds data of another job: "
                + foreign.get()
                + "; use --overwrite to replace it, or another --output");
      }
    }
    return DatasetWriter.writeTokenizerCopy(files, tokCopy, driverTokenizer.name());
  }

  /**
   * Names everything that decides the bytes of the shards, so that a rerun only reuses matching
   * shards.
   */
  static String jobKey(List<Inputs.InputFile> inputs, Options o, String order) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      for (Inputs.InputFile f : inputs) {
        b.write((f.path() + "\t" + f.size() + "\n").getBytes(StandardCharsets.UTF_8));
      }
      b.write(
          ("seed="
                  + o.seed()
                  + " val="
                  + o.valFraction()
                  + " "
                  + order
                  + " read="
                  + o.read()
                  + " format="
                  + o.format())
              .getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(md.digest(b.toByteArray()), 0, 16);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
