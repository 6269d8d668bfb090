package io.sparkgpt.jobs.clean;

import io.sparkgpt.jobs.input.Doc;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * Near-duplicate detection: MinHash signatures, LSH banding (documents sharing all rows of any band
 * become candidates), verification of each candidate pair by its estimated Jaccard similarity
 * against the threshold, connected components over the verified pairs, and one survivor per
 * component: the longest document, then the smallest id. Every choice depends on ids and texts
 * only, so the survivors do not depend on partitioning.
 *
 * <p>Defaults: 256-value signatures in 32 bands of 8 rows. A pair at Jaccard 0.8 becomes a
 * candidate with probability 1 - (1 - 0.8^8)^32 = 0.997; one at 0.3 with probability 0.002.
 */
public final class FuzzyDedup {
  /** Figures for the report. */
  /** clusterSizes: how many clusters (of near-duplicates, survivor included) have each size. */
  public record Stats(
      long signatures,
      long candidatePairs,
      long verifiedPairs,
      long clusters,
      long duplicates,
      int componentRounds,
      java.util.TreeMap<Long, Long> clusterSizes)
      implements Serializable {
    public java.util.Map<String, Object> toMap() {
      java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
      m.put("signatures", signatures);
      m.put("candidate_pairs", candidatePairs);
      m.put("verified_pairs", verifiedPairs);
      m.put("clusters", clusters);
      m.put("duplicates", duplicates);
      m.put("component_rounds", componentRounds);
      m.put("cluster_sizes", clusterSizes);
      return m;
    }
  }

  public record Result(JavaPairRDD<String, String> duplicates, Stats stats) {}

  static final class Sig implements Serializable {
    final int[] values;
    final int length;

    Sig(int[] values, int length) {
      this.values = values;
      this.length = length;
    }
  }

  private FuzzyDedup() {}

  /**
   * The pipeline step: kept documents that are not their cluster's survivor are rejected as near
   * duplicates.
   */
  static JavaRDD<Doc> apply(JavaRDD<Doc> docs, Steps.CorpusContext ctx) {
    Result fuzzy =
        find(docs.filter(Doc::kept), ctx.config().dedup(), ctx.partitions(), ctx.phase());
    int step = Steps.index(Steps.FUZZY_DEDUP);
    JavaRDD<Doc> marked =
        docs.filter(Doc::kept)
            .mapToPair(d -> new Tuple2<>(d.id(), d))
            .leftOuterJoin(fuzzy.duplicates(), ctx.partitions())
            .map(
                t -> {
                  Doc d = t._2._1;
                  if (t._2._2.isPresent()) {
                    d.reject(step, "near_duplicate", t._2._2.get());
                  }
                  return d;
                });
    ctx.report().put("fuzzy_dedup", fuzzy.stats().toMap());
    return marked.union(docs.filter(d -> !d.kept()));
  }

  /**
   * @return id -> rejection detail for every document that is not its cluster's survivor
   */
  public static Result find(
      JavaRDD<Doc> kept, CleanConfig.Dedup c, int partitions, Consumer<String> phase) {
    MinHash minHash = new MinHash(c.signatureSize(), c.shingleSize(), c.cjkShingleSize());
    HashPartitioner p = new HashPartitioner(partitions);
    int bands = c.bands();
    int rows = c.rows();
    double threshold = c.threshold();

    phase.accept("fuzzy dedup: MinHash signatures");
    JavaPairRDD<String, Sig> sigs =
        kept.mapToPair(
                d -> new Tuple2<>(d.id(), new Sig(minHash.signature(d.text()), d.text().length())))
            .filter(t -> t._2.values != null)
            .partitionBy(p)
            .persist(StorageLevel.MEMORY_AND_DISK_SER());
    long signatures = sigs.count();

    phase.accept("fuzzy dedup: LSH candidates");
    JavaPairRDD<String, String> candidates =
        sigs.flatMapToPair(
                t -> {
                  List<Tuple2<Long, String>> keys = new ArrayList<>(bands);
                  for (int b = 0; b < bands; b++) {
                    keys.add(new Tuple2<>(MinHash.bandKey(t._2.values, b, rows), t._1));
                  }
                  return keys.iterator();
                })
            .groupByKey(partitions)
            .flatMapToPair(
                bucket -> {
                  List<String> ids = new ArrayList<>();
                  bucket._2.forEach(ids::add);
                  if (ids.size() < 2) {
                    return Collections.emptyIterator();
                  }
                  // A star from the smallest id: enough for connected components, linear in the
                  // bucket size.
                  Collections.sort(ids);
                  List<Tuple2<String, String>> pairs = new ArrayList<>(ids.size() - 1);
                  for (int i = 1; i < ids.size(); i++) {
                    if (!ids.get(i).equals(ids.get(i - 1))) {
                      pairs.add(new Tuple2<>(ids.get(0), ids.get(i)));
                    }
                  }
                  return pairs.iterator();
                })
            .distinct(partitions)
            .persist(StorageLevel.MEMORY_AND_DISK());
    long candidatePairs = candidates.count();

    phase.accept("fuzzy dedup: verifying " + candidatePairs + " candidate pairs");
    JavaPairRDD<String, String> verified =
        candidates
            .join(sigs)
            .mapToPair(t -> new Tuple2<>(t._2._1, new Tuple2<>(t._1, t._2._2)))
            .join(sigs)
            .filter(t -> MinHash.similarity(t._2._1._2.values, t._2._2.values) >= threshold)
            .mapToPair(t -> new Tuple2<>(t._2._1._1, t._1))
            .persist(StorageLevel.MEMORY_AND_DISK());
    long verifiedPairs = verified.count();
    candidates.unpersist(false);

    int[] rounds = {0};
    JavaPairRDD<String, String> component =
        ConnectedComponents.of(
            verified,
            partitions,
            r -> {
              rounds[0] = r;
              phase.accept("fuzzy dedup: connected components, round " + r);
            });
    // (label, (id, length)), then the survivor and size of each component.
    JavaPairRDD<String, Tuple2<String, Integer>> members =
        component
            .join(sigs)
            .mapToPair(t -> new Tuple2<>(t._2._1, new Tuple2<>(t._1, t._2._2.length)))
            .persist(StorageLevel.MEMORY_AND_DISK());
    JavaPairRDD<String, Tuple2<String, Integer>> survivor = members.reduceByKey(FuzzyDedup::better);
    JavaPairRDD<String, Long> size = members.mapValues(m -> 1L).reduceByKey(Long::sum);
    JavaPairRDD<String, String> duplicates =
        members
            .join(survivor)
            .join(size)
            .filter(t -> !t._2._1._1._1.equals(t._2._1._2._1))
            .mapToPair(
                t ->
                    new Tuple2<>(
                        t._2._1._1._1,
                        String.format(
                            Locale.ROOT,
                            "near-duplicate of %s (cluster of %d, Jaccard >= %.2f)",
                            t._2._1._2._1,
                            t._2._2,
                            threshold)))
            .persist(StorageLevel.MEMORY_AND_DISK());
    long duplicateCount = duplicates.count();
    java.util.TreeMap<Long, Long> clusterSizes =
        new java.util.TreeMap<>(size.values().countByValue());
    long clusters = clusterSizes.values().stream().mapToLong(Long::longValue).sum();
    verified.unpersist(false);
    members.unpersist(false);
    sigs.unpersist(false);
    return new Result(
        duplicates,
        new Stats(
            signatures,
            candidatePairs,
            verifiedPairs,
            clusters,
            duplicateCount,
            rounds[0],
            clusterSizes));
  }

  /** The survivor rule: the longer document, then the smaller id. */
  static Tuple2<String, Integer> better(Tuple2<String, Integer> a, Tuple2<String, Integer> b) {
    int c = Integer.compare(b._2, a._2);
    if (c == 0) {
      c = a._1.compareTo(b._1);
    }
    return c <= 0 ? a : b;
  }
}
