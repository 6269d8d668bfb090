package io.sparkgpt.tokenizer.dataset;

import io.sparkgpt.tokenizer.Tokenizer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * What the Spark tokenize job does, in one JVM: split and shard every document by its id, order
 * shards by shuffle key, write the shards that are not finished, then the manifest. Can simulate
 * crashes.
 */
final class MiniJob {
  final Tokenizer tokenizer;
  final String spec;
  Format format = Format.NATIVE;
  int seqLen = 64;
  double valFraction = 0.1;
  long seed = 1234;
  int trainShards = 3;
  int valShards = 1;

  /**
   * Shard name at which to crash, and after how many of its documents (-1: after the data rename).
   */
  String crashShard;

  int crashAfterDocs;
  int skipped;
  int written;

  static final class SimulatedCrash extends RuntimeException {
    SimulatedCrash(String shard) {
      super("simulated crash in " + shard);
    }
  }

  MiniJob(Tokenizer tokenizer, String spec) {
    this.tokenizer = tokenizer;
    this.spec = spec;
  }

  String jobKey() {
    return "seed=" + seed + ",val=" + valFraction + ",shards=" + trainShards + "/" + valShards;
  }

  Map<String, Integer> shardCounts() {
    Map<String, Integer> m = new LinkedHashMap<>();
    m.put(Manifest.TRAIN, trainShards);
    m.put(Manifest.VALIDATION, valShards);
    return m;
  }

  /** split -> shard -> documents in write order. */
  Map<String, List<List<TestDocs.Doc>>> plan(List<TestDocs.Doc> docs) {
    Map<String, List<List<TestDocs.Doc>>> plan = new LinkedHashMap<>();
    for (Map.Entry<String, Integer> e : shardCounts().entrySet()) {
      List<List<TestDocs.Doc>> shards = new ArrayList<>();
      for (int i = 0; i < e.getValue(); i++) {
        shards.add(new ArrayList<>());
      }
      plan.put(e.getKey(), shards);
    }
    for (TestDocs.Doc d : docs) {
      String split = DocumentSplit.split(d.id(), valFraction, seed);
      long key = DocumentSplit.shuffleKey(d.id(), seed);
      plan.get(split).get(DocumentSplit.shardOf(key, shardCounts().get(split))).add(d);
    }
    for (List<List<TestDocs.Doc>> shards : plan.values()) {
      for (List<TestDocs.Doc> s : shards) {
        s.sort(
            (a, b) ->
                DocumentSplit.compareKeys(
                    DocumentSplit.shuffleKey(a.id(), seed),
                    DocumentSplit.shuffleKey(b.id(), seed)));
      }
    }
    return plan;
  }

  Manifest run(DatasetFiles files, List<TestDocs.Doc> docs) throws IOException {
    long t0 = System.nanoTime();
    Manifest.TokenizerInfo tok = DatasetWriter.writeTokenizer(files, tokenizer, spec);
    Layout layout = Layout.of(format, tokenizer, seqLen, tok.sha256(), jobKey());
    Optional<Manifest> done = DatasetWriter.begin(files, layout);
    if (done.isPresent()) {
      return done.get();
    }
    for (Map.Entry<String, List<List<TestDocs.Doc>>> e : plan(docs).entrySet()) {
      for (int i = 0; i < e.getValue().size(); i++) {
        if (ShardWriter.finished(files, e.getKey(), i, layout).isPresent()) {
          skipped++;
          continue;
        }
        writeShard(files, layout, e.getKey(), i, e.getValue().get(i));
        written++;
      }
    }
    Map<String, Object> params = new TreeMap<>();
    params.put("tokenizer", spec);
    params.put("seq_len", seqLen);
    params.put("val_fraction", valFraction);
    params.put("seed", seed);
    params.put("format", format.id());
    return DatasetWriter.finish(
        files, layout, tok, shardCounts(), (System.nanoTime() - t0) / 1e9, params);
  }

  private void writeShard(
      DatasetFiles files, Layout layout, String split, int index, List<TestDocs.Doc> docs)
      throws IOException {
    String name = ShardWriter.shardName(split, index);
    boolean crash = name.equals(crashShard);
    ShardWriter w = ShardWriter.create(files, split, index, layout);
    int n = 0;
    for (TestDocs.Doc d : docs) {
      if (crash && crashAfterDocs >= 0 && n == crashAfterDocs) {
        throw new SimulatedCrash(
            name); // the writer is never closed: its temp file stays, as after kill -9
      }
      w.addDocument(TestDocs.encode(tokenizer, d), ShardWriter.utf8Length(d.text()));
      n++;
    }
    w.commit();
    if (crash && crashAfterDocs < 0) {
      // died between renaming the data and renaming the shard record
      files.rename(
          ShardWriter.recordFile(name),
          ShardWriter.recordFile(name) + DatasetFiles.TEMP_MARKER + "dead");
      throw new SimulatedCrash(name);
    }
  }
}
