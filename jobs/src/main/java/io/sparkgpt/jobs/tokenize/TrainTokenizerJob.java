package io.sparkgpt.jobs.tokenize;

import io.sparkgpt.jobs.Outputs;
import io.sparkgpt.jobs.input.Doc;
import io.sparkgpt.jobs.input.DocReader;
import io.sparkgpt.jobs.input.Inputs;
import io.sparkgpt.tokenizer.BpeTrainer;
import io.sparkgpt.tokenizer.IntArray;
import io.sparkgpt.tokenizer.PreTokenCounter;
import io.sparkgpt.tokenizer.SplitPattern;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * Trains a byte-level BPE tokenizer on a corpus: pre-tokens are counted on the executors (one
 * bounded counter per partition, the map-side combine, then reduce by key), the most frequent
 * pre-tokens come to the driver, the merges are learned there, and the result is measured on
 * held-back documents that training never saw.
 */
public final class TrainTokenizerJob {
  public record Options(
      List<String> inputs,
      Inputs.Format inputFormat,
      DocReader.Options read,
      String output,
      int vocabSize,
      long minFrequency,
      SplitPattern pattern,
      List<String> specialTokens,
      double sampleFraction,
      double heldOutFraction,
      int maxPreTokens,
      long seed,
      int partitions,
      boolean overwrite,
      String report) {}

  /** What the run measured; also written as the JSON report. */
  public record Result(
      int vocabSize,
      int merges,
      long trainDocuments,
      long heldOutDocuments,
      long distinctPreTokens,
      long preTokensUsed,
      double countSeconds,
      double trainSeconds,
      double heldOutBytesPerToken,
      double gpt2BytesPerToken,
      long heldOutBytes)
      implements Serializable {
    public Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("vocab_size", vocabSize);
      m.put("merges", merges);
      m.put("train_documents", trainDocuments);
      m.put("held_out_documents", heldOutDocuments);
      m.put("distinct_pre_tokens", distinctPreTokens);
      m.put("pre_tokens_used", preTokensUsed);
      m.put("count_seconds", round(countSeconds));
      m.put("train_seconds", round(trainSeconds));
      m.put("held_out_bytes", heldOutBytes);
      m.put("held_out_bytes_per_token", round(heldOutBytesPerToken));
      m.put("gpt2_held_out_bytes_per_token", round(gpt2BytesPerToken));
      return m;
    }
  }

  private TrainTokenizerJob() {}

  /**
   * Which side of the split a document is on: a hash of its id, so reruns and partitionings agree.
   */
  static double unit(String id, long seed) {
    long h = seed * 0x9E3779B97F4A7C15L;
    for (int i = 0; i < id.length(); i++) {
      h = (h ^ id.charAt(i)) * 0x100000001B3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    return (h >>> 11) * 0x1.0p-53;
  }

  public static Result run(SparkSession spark, Options o, Consumer<String> phase, PrintStream log)
      throws IOException {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Outputs outputs = new Outputs(jsc.hadoopConfiguration(), o.overwrite());
    String reportTmp = o.report() == null ? null : outputs.claim(o.report(), "--report");
    String outputTmp = outputs.claim(o.output(), "--output");
    try {
      List<Inputs.InputFile> files =
          Inputs.expand(jsc.hadoopConfiguration(), o.inputs(), o.inputFormat());
      int partitions =
          o.partitions() > 0 ? o.partitions() : Math.max(2, jsc.defaultParallelism() * 2);
      long seed = o.seed();
      double heldOut = o.heldOutFraction();
      double sample = o.sampleFraction();
      JavaRDD<Doc> docs =
          DocReader.read(spark, files, o.read(), partitions)
              .filter(Doc::kept)
              .persist(StorageLevel.MEMORY_AND_DISK_SER());

      phase.accept("counting pre-tokens");
      long t0 = System.nanoTime();
      SplitPattern pattern = o.pattern();
      JavaRDD<Doc> train =
          docs.filter(
              d -> unit(d.id(), seed) >= heldOut && unit(d.id(), seed ^ 0x5DEECE66DL) < sample);
      long trainDocs = train.count();
      JavaPairRDD<String, Long> counts =
          train
              .mapPartitionsToPair(
                  it -> {
                    PreTokenCounter counter = new PreTokenCounter(pattern);
                    while (it.hasNext()) {
                      counter.add(it.next().text());
                    }
                    List<Tuple2<String, Long>> out = new ArrayList<>(counter.distinct());
                    counter.counts().forEach((k, v) -> out.add(new Tuple2<>(k, v)));
                    return out.iterator();
                  })
              .reduceByKey(Long::sum, partitions)
              .persist(StorageLevel.MEMORY_AND_DISK_SER());
      long distinct = counts.count();
      Map<String, Long> top;
      if (distinct <= o.maxPreTokens()) {
        top = new HashMap<>(counts.collectAsMap());
      } else {
        top = new HashMap<>();
        for (Tuple2<String, Long> t : counts.takeOrdered(o.maxPreTokens(), new ByCountDesc())) {
          top.put(t._1, t._2);
        }
      }
      counts.unpersist(false);
      double countSeconds = (System.nanoTime() - t0) / 1e9;
      if (top.isEmpty()) {
        throw new io.sparkgpt.jobs.UserError(
            "no training text: every document was held back or empty");
      }

      phase.accept("learning merges");
      long t1 = System.nanoTime();
      int target = o.vocabSize() - 256 - o.specialTokens().size();
      Tokenizer bpe =
          new BpeTrainer()
              .vocabSize(o.vocabSize())
              .minFrequency(o.minFrequency())
              .specialTokens(o.specialTokens())
              .pattern(pattern)
              .maxPreTokens(o.maxPreTokens())
              .name(new org.apache.hadoop.fs.Path(o.output()).getName())
              .progress(
                  new BpeTrainer.Progress() {
                    long last;

                    @Override
                    public void merges(int done, int total, double perSecond) {
                      long now = System.nanoTime();
                      if (now - last > 2e9 || done == total) {
                        last = now;
                        log.printf(
                            Locale.ROOT,
                            "merges %,d/%,d (%.0f merges/s)%n",
                            done,
                            total,
                            perSecond);
                      }
                    }

                    @Override
                    public void pruned(int kept, int dropped) {
                      log.printf(
                          Locale.ROOT,
                          "pre-token cap: kept %,d most frequent, dropped %,d%n",
                          kept,
                          dropped);
                    }
                  })
              .train(top);
      double trainSeconds = (System.nanoTime() - t1) / 1e9;

      ByteArrayOutputStream json = new ByteArrayOutputStream();
      Tokenizers.saveJson(bpe, json);
      byte[] jsonBytes = json.toByteArray();

      phase.accept("measuring held-back documents");
      Broadcast<byte[]> tokenizerJson = jsc.broadcast(jsonBytes);
      long[] eval =
          docs.filter(d -> unit(d.id(), seed) < heldOut)
              .mapPartitions(
                  it -> {
                    Tokenizer ours = Tokenizers.load("trained.json", tokenizerJson.value());
                    Tokenizer gpt2 = Tokenizers.r50kBase();
                    IntArray buf = new IntArray(1 << 16);
                    long[] acc = new long[4]; // docs, bytes, our tokens, gpt2 tokens
                    while (it.hasNext()) {
                      String text = it.next().text();
                      acc[0]++;
                      acc[1] += text.getBytes(StandardCharsets.UTF_8).length;
                      buf.clear();
                      acc[2] += ours.encode(text, buf);
                      buf.clear();
                      acc[3] += gpt2.encode(text, buf);
                    }
                    return List.of(acc).iterator();
                  })
              .reduce((a, b) -> new long[] {a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]});
      docs.unpersist(false);

      outputs.writeBytes(outputTmp, jsonBytes);
      Result r =
          new Result(
              bpe.vocabSize(),
              bpe.vocabSize() - 256 - o.specialTokens().size(),
              trainDocs,
              eval[0],
              distinct,
              top.size(),
              countSeconds,
              trainSeconds,
              eval[2] == 0 ? 0 : (double) eval[1] / eval[2],
              eval[3] == 0 ? 0 : (double) eval[1] / eval[3],
              eval[1]);
      if (reportTmp != null) {
        outputs.writeString(
            reportTmp,
            new com.fasterxml.jackson.databind.ObjectMapper()
                .writerWithDefaultPrettyPrinter()
                .writeValueAsString(r.toMap()));
      }
      outputs.commit();
      if (r.merges() < target) {
        log.printf(
            Locale.ROOT,
            "note: stopped at %,d merges of %,d: no pair left with count >= %d%n",
            r.merges(),
            target,
            o.minFrequency());
      }
      return r;
    } catch (RuntimeException | IOException e) {
      outputs.abort();
      throw e;
    }
  }

  static final class ByCountDesc implements Comparator<Tuple2<String, Long>>, Serializable {
    @Override
    public int compare(Tuple2<String, Long> a, Tuple2<String, Long> b) {
      int c = Long.compare(b._2, a._2);
      return c != 0 ? c : a._1.compareTo(b._1);
    }
  }

  static double round(double x) {
    return Math.round(x * 1000) / 1000.0;
  }
}
