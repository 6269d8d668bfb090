package io.sparkgpt.jobs.clean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgpt.cluster.SparkRuntime;
import io.sparkgpt.jobs.input.Doc;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Fuzzy dedup on real documents with planted near-duplicates, on a local Spark. */
class FuzzyDedupTest {
  static SparkSession spark;
  static JavaSparkContext jsc;

  @BeforeAll
  static void start() {
    spark = SparkRuntime.start("fuzzy-dedup-test", "local[2]", false, Map.of());
    jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
  }

  @AfterAll
  static void stop() {
    spark.stop();
  }

  static Doc doc(String id, String text) {
    return Doc.of(id, "test", text, false);
  }

  /** loser id -> survivor id */
  static Map<String, String> run(List<Doc> docs, int partitions) {
    JavaRDD<Doc> rdd = jsc.parallelize(docs, partitions);
    Map<String, String> out = new HashMap<>();
    FuzzyDedup.find(rdd, CleanConfig.DEFAULTS.dedup(), partitions, s -> {})
        .duplicates()
        .collectAsMap()
        .forEach(
            (id, detail) ->
                out.put(
                    id, detail.substring("near-duplicate of ".length(), detail.indexOf(' ', 18))));
    return out;
  }

  /**
   * Sources that are not near-duplicates of one another, so that the planted pairs are the whole
   * truth.
   */
  static List<String> distinct(List<String> texts) {
    MinHash mh = new MinHash(256, 5, 2);
    List<String> out = new ArrayList<>();
    List<int[]> sigs = new ArrayList<>();
    for (String t : texts) {
      int[] s = mh.signature(t);
      if (sigs.stream().noneMatch(o -> MinHash.similarity(o, s) > 0.5)) {
        out.add(t);
        sigs.add(s);
      }
    }
    return out;
  }

  @Test
  void findsPlantedNearDuplicatesInProseAndCode() {
    List<String> sources = new ArrayList<>(TestData.pythonFiles(2000, 60000, 150));
    sources.addAll(TestData.lines("prose_en/wikitext-2-raw-v1.test.txt", 700, 150));
    sources = distinct(sources);
    Random rnd = new Random(42);
    List<Doc> docs = new ArrayList<>();
    Set<String> planted = new HashSet<>();
    for (int i = 0; i < sources.size(); i++) {
      docs.add(doc(String.format(Locale.ROOT, "src-%04d", i), sources.get(i)));
      if (i % 2 == 0) {
        String copyId = String.format(Locale.ROOT, "cpy-%04d", i);
        docs.add(doc(copyId, TestData.editWords(sources.get(i), 0.05, rnd)));
        planted.add(pair(String.format(Locale.ROOT, "src-%04d", i), copyId));
      }
    }
    Map<String, String> found = run(docs, 4);
    long truePositives =
        found.entrySet().stream()
            .filter(e -> planted.contains(pair(e.getKey(), e.getValue())))
            .count();
    double recall = (double) truePositives / planted.size();
    double precision = found.isEmpty() ? 0 : (double) truePositives / found.size();
    System.out.printf(
        Locale.ROOT,
        "fuzzy dedup: %d docs, %d planted pairs, %d flagged, recall %.3f, precision %.3f%n",
        docs.size(),
        planted.size(),
        found.size(),
        recall,
        precision);
    assertTrue(planted.size() >= 100, "enough planted pairs: " + planted.size());
    assertTrue(recall >= 0.95, "recall " + recall);
    assertTrue(precision >= 0.99, "precision " + precision);
  }

  @Test
  void survivorsDoNotDependOnPartitioningAndPreferTheLongerDocument() {
    List<String> sources = distinct(TestData.lines("prose_en/wikitext-2-raw-v1.test.txt", 800, 60));
    Random rnd = new Random(7);
    List<Doc> docs = new ArrayList<>();
    for (int i = 0; i < sources.size(); i++) {
      docs.add(doc("a-" + i, sources.get(i)));
      docs.add(doc("b-" + i, TestData.editWords(sources.get(i), 0.03, rnd)));
      docs.add(
          doc(
              "c-" + i,
              sources.get(i) + " An appended closing sentence makes this copy the longest one."));
    }
    Map<String, String> one = run(docs, 1);
    assertEquals(one, run(docs, 3));
    assertEquals(one, run(docs, 8));
    for (int i = 0; i < sources.size(); i++) {
      assertEquals("c-" + i, one.get("a-" + i), "the longest copy survives");
    }
  }

  @Test
  void chineseNearDuplicatesAreFoundWithCharacterShingles() {
    List<String> sources =
        distinct(
            TestData.paragraphs("zh/debian-reference-zh-cn.txt", 300, 1000).stream()
                .filter(p -> TestData.cjkShare(p) >= 0.5)
                .limit(80)
                .toList());
    Random rnd = new Random(3);
    List<Doc> docs = new ArrayList<>();
    for (int i = 0; i < sources.size(); i++) {
      docs.add(doc("zh-" + i, sources.get(i)));
      docs.add(doc("zx-" + i, TestData.editCjkChars(sources.get(i), 0.03, rnd)));
    }
    Map<String, String> found = run(docs, 2);
    long correct =
        found.entrySet().stream()
            .filter(e -> e.getKey().substring(3).equals(e.getValue().substring(3)))
            .count();
    assertTrue(sources.size() >= 20, "zh sources: " + sources.size());
    assertTrue(correct >= 0.95 * sources.size(), correct + " of " + sources.size());
    assertEquals(correct, found.size(), "no false positives");
  }

  static String pair(String a, String b) {
    return a.compareTo(b) < 0 ? a + "|" + b : b + "|" + a;
  }
}
