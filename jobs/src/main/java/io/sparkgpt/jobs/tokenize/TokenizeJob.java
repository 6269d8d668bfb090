package io.sparkgpt.jobs.tokenize;

import io.sparkgpt.jobs.UserError;
import io.sparkgpt.jobs.clean.Doc;
import io.sparkgpt.jobs.clean.DocReader;
import io.sparkgpt.jobs.clean.Inputs;
import io.sparkgpt.tokenizer.IntArray;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.dataset.DatasetFiles;
import io.sparkgpt.tokenizer.dataset.DatasetWriter;
import io.sparkgpt.tokenizer.dataset.DocumentSplit;
import io.sparkgpt.tokenizer.dataset.Format;
import io.sparkgpt.tokenizer.dataset.Layout;
import io.sparkgpt.tokenizer.dataset.Manifest;
import io.sparkgpt.tokenizer.dataset.ShardWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * Encodes a corpus into a sharded token dataset. Every document gets a split (train or val) and a shuffle key
 * from its id alone; after encoding, the token count of each split fixes its number of shards, and each shard,
 * a range of shuffle keys, is written by one task in key order. So the bytes of every shard depend only on the
 * documents and the parameters (never on partitioning), a rerun after a crash skips the shards already
 * committed, and the manifest is written last.
 */
public final class TokenizeJob {
  public record Options(List<String> inputs, Inputs.Format inputFormat, DocReader.Options read, String tokenizer,
      String output, int seqLen, double valFraction, long shardTokens, long seed, Format format, int partitions,
      boolean overwrite, Map<String, Object> parameters) {}

  /** One document after encoding: its tokens, or why it could not be encoded. */
  static final class Encoded implements Serializable {
    String id;
    String source;
    String split;
    int[] ids;
    long textBytes;
    String rejection;
  }

  /**
   * Shard-internal order: the shuffle key as unsigned, then the id (a tie-break for hash collisions). A class,
   * not a record: Spark's Kryo cannot construct records.
   */
  static final class Key implements Serializable {
    final long shuffleKey;
    final String id;

    Key(long shuffleKey, String id) {
      this.shuffleKey = shuffleKey;
      this.id = id;
    }
  }

  static final class KeyOrder implements Comparator<Key>, Serializable {
    @Override
    public int compare(Key a, Key b) {
      int c = DocumentSplit.compareKeys(a.shuffleKey, b.shuffleKey);
      return c != 0 ? c : a.id.compareTo(b.id);
    }
  }

  /** One partition per shard: shard = the range of shuffle keys it covers. */
  static final class ByShard extends Partitioner {
    private final int shards;

    ByShard(int shards) {
      this.shards = shards;
    }

    @Override
    public int numPartitions() {
      return shards;
    }

    @Override
    public int getPartition(Object key) {
      return DocumentSplit.shardOf(((Key) key).shuffleKey, shards);
    }
  }

  private TokenizeJob() {}

  public static Manifest run(SparkSession spark, Options o, Consumer<String> phase) throws IOException {
    long start = System.nanoTime();
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Path out = new Path(o.output());
    FileSystem fs = out.getFileSystem(jsc.hadoopConfiguration());
    if (o.overwrite() && fs.exists(out)) {
      fs.delete(out, true);
    }
    HadoopDatasetFiles files = new HadoopDatasetFiles(o.output(), jsc.hadoopConfiguration());
    List<Inputs.InputFile> inputs = Inputs.expand(jsc.hadoopConfiguration(), o.inputs(), o.inputFormat());
    int partitions = o.partitions() > 0 ? o.partitions() : Math.max(2, jsc.defaultParallelism() * 2);

    // The tokenizer: loaded here to fail fast, stored in the dataset (once the folder is known to be this job's),
    // shipped to executors as those bytes.
    Tokenizer driverTokenizer = TokenizerOption.load(o.tokenizer());
    DatasetWriter.TokenizerCopy tokCopy;
    try {
      tokCopy = DatasetWriter.tokenizerCopy(driverTokenizer, o.tokenizer());
    } catch (IllegalArgumentException e) {
      throw new UserError("--tokenizer " + o.tokenizer() + ": " + e.getMessage());
    }
    Broadcast<TokenizerSource> tokenizer = jsc.broadcast(new TokenizerSource(tokCopy.file(), tokCopy.content()));

    phase.accept("reading and encoding");
    double valFraction = o.valFraction();
    long seed = o.seed();
    JavaRDD<Encoded> encoded = DocReader.read(spark, inputs, o.read(), partitions)
        .mapPartitions(docs -> {
          Tokenizer tok = tokenizer.value().get();
          IntArray buf = new IntArray(1 << 16);
          return new Iterator<Encoded>() {
            @Override
            public boolean hasNext() {
              return docs.hasNext();
            }

            @Override
            public Encoded next() {
              return encode(docs.next(), tok, buf, valFraction, seed);
            }
          };
        })
        // Deserialized: the encoded documents are never mutated, and their int[] are as compact as Kryo's bytes.
        .persist(StorageLevel.MEMORY_AND_DISK());
    Map<String, Long> tokensPerSplit = new LinkedHashMap<>(Map.of("train", 0L, "val", 0L));
    encoded.filter(e -> e.ids != null)
        .mapToPair(e -> new Tuple2<>(e.split, (long) e.ids.length + 1))
        .reduceByKey(Long::sum)
        .collectAsMap()
        .forEach(tokensPerSplit::put);

    Map<String, Integer> shards = new LinkedHashMap<>();
    for (Map.Entry<String, Long> e : tokensPerSplit.entrySet()) {
      shards.put(e.getKey(), (int) Math.max(e.getValue() > 0 ? 1 : 0, (e.getValue() + o.shardTokens() - 1)
          / o.shardTokens()));
    }
    Layout layout = Layout.of(o.format(), driverTokenizer, o.seqLen(), tokCopy.sha256(),
        jobKey(inputs, o, shards));
    if (!o.overwrite()) {
      Optional<String> foreign = DatasetWriter.foreignFile(files, layout);
      if (foreign.isPresent()) {
        encoded.unpersist(false);
        throw new UserError("--output " + o.output() + " holds data of another job: " + foreign.get()
            + "; use --overwrite to replace it, or another --output");
      }
    }
    Manifest.TokenizerInfo tokInfo = DatasetWriter.writeTokenizerCopy(files, tokCopy.file(), tokCopy.content(),
        driverTokenizer.name());
    if (DatasetWriter.begin(files, layout).isPresent()) {
      encoded.unpersist(false);
      phase.accept("already complete");
      try (InputStream in = files.open(Manifest.FILE)) {
        return Manifest.read(in, Manifest.FILE);
      }
    }

    for (Map.Entry<String, Integer> e : shards.entrySet()) {
      String split = e.getKey();
      int n = e.getValue();
      if (n == 0) {
        continue;
      }
      phase.accept("writing " + n + " " + split + " shards");
      encoded.filter(x -> x.split.equals(split))
          .mapToPair(x -> new Tuple2<>(new Key(DocumentSplit.shuffleKey(x.id, seed), x.id), x))
          .repartitionAndSortWithinPartitions(new ByShard(n), new KeyOrder())
          .foreachPartition(it -> writeShard(files, split, org.apache.spark.TaskContext.getPartitionId(), layout,
              it));
    }

    phase.accept("writing rejected documents and the manifest");
    JavaRDD<String> rejected = encoded.filter(x -> x.rejection != null).map(TokenizeJob::rejectedJson);
    Path rejectedDir = new Path(out, "rejected");
    fs.delete(rejectedDir, true);
    if (!rejected.isEmpty()) {
      rejected.saveAsTextFile(rejectedDir.toString());
    }
    encoded.unpersist(false);
    Map<String, Object> params = new LinkedHashMap<>(o.parameters());
    params.put("input_files", inputs.size());
    params.put("shards", shards);
    return DatasetWriter.finish(files, layout, tokInfo, shards, (System.nanoTime() - start) / 1e9, params);
  }

  static Encoded encode(Doc d, Tokenizer tok, IntArray buf, double valFraction, long seed) {
    Encoded e = new Encoded();
    e.id = d.id;
    e.source = d.source;
    e.split = DocumentSplit.split(d.id, valFraction, seed);
    if (!d.kept()) {
      e.rejection = d.reason();
      return e;
    }
    e.textBytes = d.text.getBytes(StandardCharsets.UTF_8).length;
    try {
      buf.clear();
      tok.encode(d.text, buf);
      e.ids = buf.toArray();
    } catch (RuntimeException ex) {
      e.rejection = "encode_failed: " + ex.getMessage();
    }
    return e;
  }

  static void writeShard(DatasetFiles files, String split, int shard, Layout layout,
      Iterator<Tuple2<Key, Encoded>> docs) throws IOException {
    if (ShardWriter.finished(files, split, shard, layout).isPresent()) {
      return; // committed by an earlier run: identical by construction
    }
    try (ShardWriter w = ShardWriter.create(files, split, shard, layout)) {
      while (docs.hasNext()) {
        Encoded e = docs.next()._2;
        if (e.ids == null) {
          w.addRejected(1);
        } else {
          w.addDocument(e.ids, e.textBytes);
        }
      }
      w.commit();
    }
  }

  static String rejectedJson(Encoded e) throws IOException {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", e.id);
    m.put("source", e.source);
    m.put("split", e.split);
    m.put("reason", e.rejection);
    return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(m);
  }

  /** Names everything that decides the bytes of the shards, so that a rerun only reuses matching shards. */
  static String jobKey(List<Inputs.InputFile> inputs, Options o, Map<String, Integer> shards) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      for (Inputs.InputFile f : inputs) {
        b.write((f.path() + "\t" + f.size() + "\n").getBytes(StandardCharsets.UTF_8));
      }
      b.write(("seed=" + o.seed() + " val=" + o.valFraction() + " shards=" + shards + " read=" + o.read()
          + " format=" + o.format()).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(md.digest(b.toByteArray()), 0, 16);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

}
