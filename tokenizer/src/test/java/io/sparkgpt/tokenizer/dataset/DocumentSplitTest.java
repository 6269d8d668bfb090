package io.sparkgpt.tokenizer.dataset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Document-level split, shuffle key and shard: deterministic, disjoint, as specified. */
class DocumentSplitTest {

  /** Values computed with the Python formula in DocumentSplit's documentation. */
  @Test
  void matchesTheDocumentedFormula() {
    assertFalse(DocumentSplit.isValidation("doc-1", 0.877, 42));
    assertTrue(DocumentSplit.isValidation("doc-1", 0.878, 42));
    assertTrue(DocumentSplit.isValidation("tinyshakespeare.txt#0", 0.01, 42));
    assertFalse(DocumentSplit.isValidation("tinyshakespeare.txt#0", 0.0078, 42));
    assertTrue(DocumentSplit.isValidation("莎士比亚", 0.3534, 42));
    assertFalse(DocumentSplit.isValidation("莎士比亚", 0.3533, 42));
    assertEquals(6676716992369645845L, DocumentSplit.shuffleKey("doc-1", 42));
    assertEquals(3675549187496756800L, DocumentSplit.shuffleKey("tinyshakespeare.txt#0", 42));
    assertEquals(3460917643908984724L, DocumentSplit.shuffleKey("莎士比亚", 42));
    assertEquals(2, DocumentSplit.shardOf(6676716992369645845L, 7));
    assertEquals(1, DocumentSplit.shardOf(3675549187496756800L, 7));
  }

  @Test
  void splitIsDisjointDeterministicAndNearTheFraction() {
    List<TestDocs.Doc> docs =
        new ArrayList<>(TestDocs.paragraphs("prose_en/tinyshakespeare.txt", 100_000));
    docs.addAll(TestDocs.jsonl("code/python3.11-stdlib.jsonl", 2000));
    Set<String> train = new HashSet<>();
    Set<String> val = new HashSet<>();
    for (TestDocs.Doc d : docs) {
      (DocumentSplit.isValidation(d.id(), 0.05, 7) ? val : train).add(d.id());
    }
    assertEquals(docs.size(), train.size() + val.size());
    assertTrue(train.stream().noneMatch(val::contains));
    double frac = val.size() / (double) docs.size();
    assertTrue(Math.abs(frac - 0.05) < 0.01, "validation fraction " + frac);
    // the same decision in any order, in any thread, on a rerun
    List<TestDocs.Doc> shuffled = new ArrayList<>(docs);
    java.util.Collections.shuffle(shuffled, new java.util.Random(3));
    shuffled.parallelStream()
        .forEach(
            d -> assertEquals(val.contains(d.id()), DocumentSplit.isValidation(d.id(), 0.05, 7)));
    // a larger fraction only moves documents into validation
    for (TestDocs.Doc d : docs) {
      if (val.contains(d.id())) {
        assertTrue(DocumentSplit.isValidation(d.id(), 0.2, 7));
      }
    }
    // another seed, another split
    long moved =
        docs.stream()
            .filter(d -> DocumentSplit.isValidation(d.id(), 0.05, 8) != val.contains(d.id()))
            .count();
    assertTrue(moved > 0);
    assertFalse(DocumentSplit.isValidation("x", 0.0, 1));
    assertTrue(DocumentSplit.isValidation("x", 1.0, 1));
    assertThrows(IllegalArgumentException.class, () -> DocumentSplit.isValidation("x", 1.5, 1));
  }

  @Test
  void shardsAreRangesOfTheShuffleKey() {
    int n = 13;
    long[] keys = new long[5000];
    int[] counts = new int[n];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = DocumentSplit.shuffleKey("doc" + i, 5);
      int s = DocumentSplit.shardOf(keys[i], n);
      assertTrue(s >= 0 && s < n);
      counts[s]++;
    }
    for (int c : counts) {
      assertTrue(c > 5000 / n / 2, "shards are balanced");
    }
    long[] sorted = keys.clone();
    // unsigned order of keys gives non-decreasing shards
    Long[] boxed = java.util.Arrays.stream(sorted).boxed().toArray(Long[]::new);
    java.util.Arrays.sort(boxed, DocumentSplit::compareKeys);
    int last = 0;
    for (Long k : boxed) {
      int s = DocumentSplit.shardOf(k, n);
      assertTrue(s >= last);
      last = s;
    }
    assertEquals(0, DocumentSplit.shardOf(0L, n));
    assertEquals(n - 1, DocumentSplit.shardOf(-1L, n));
    assertEquals(0, DocumentSplit.shardOf(-1L, 1));
    assertNotEquals(DocumentSplit.shuffleKey("a", 1), DocumentSplit.shuffleKey("a", 2));
    assertArrayEquals(
        keys,
        java.util.stream.IntStream.range(0, keys.length)
            .mapToLong(i -> DocumentSplit.shuffleKey("doc" + i, 5))
            .toArray());
  }
}
