package io.sparkgpt.tokenizer.dataset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Epoch permutations and worker slices. */
class SampleOrderTest {

  @Test
  void permutationMatchesTheDocumentedAlgorithm() {
    // computed with a Python transcription of the documented SplitMix64 + Fisher-Yates
    assertArrayEquals(
        new int[] {6, 5, 2, 0, 4, 7, 8, 9, 3, 1}, SampleReader.permutation(10, 0, 42));
    assertArrayEquals(
        new int[] {6, 8, 7, 4, 9, 1, 5, 0, 2, 3}, SampleReader.permutation(10, 1, 42));
    assertArrayEquals(
        new int[] {7, 3, 2, 0, 11, 8, 9, 10, 4, 5, 1, 6}, SampleReader.permutation(12, 3, -7));
  }

  @Test
  void permutationIsAPermutationDeterministicAndNewEachEpoch() {
    for (int n : new int[] {0, 1, 2, 3, 17, 1000, 100_003}) {
      int[] p = SampleReader.permutation(n, 4, 77);
      int[] sorted = p.clone();
      Arrays.sort(sorted);
      for (int i = 0; i < n; i++) {
        assertEquals(i, sorted[i]);
      }
      assertArrayEquals(p, SampleReader.permutation(n, 4, 77));
      if (n >= 17) {
        assertFalse(Arrays.equals(p, SampleReader.permutation(n, 5, 77)), "epochs differ");
        assertFalse(Arrays.equals(p, SampleReader.permutation(n, 4, 78)), "seeds differ");
      }
    }
    // roughly uniform: each position of a small permutation takes each value about equally often
    int n = 5;
    int[][] counts = new int[n][n];
    for (int epoch = 0; epoch < 20_000; epoch++) {
      int[] p = SampleReader.permutation(n, epoch, 1);
      for (int i = 0; i < n; i++) {
        counts[i][p[i]]++;
      }
    }
    for (int[] row : counts) {
      for (int c : row) {
        assertTrue(Math.abs(c - 4000) < 300, "count " + c);
      }
    }
  }

  @Test
  void slicesCoverEverySampleExactlyOnce() {
    for (int n : new int[] {0, 1, 7, 8, 100, 1001}) {
      for (int workers : new int[] {1, 2, 3, 8, 13}) {
        int[] seen = new int[n];
        int expectedStart = 0;
        int min = Integer.MAX_VALUE, max = 0;
        for (int w = 0; w < workers; w++) {
          WorkerSlice s = WorkerSlice.of(n, w, workers);
          assertEquals(expectedStart, s.start(), "no gap, no overlap");
          expectedStart = s.end();
          for (int k = 0; k < s.size(); k++) {
            seen[s.position(k)]++;
          }
          min = Math.min(min, s.size());
          max = Math.max(max, s.size());
        }
        assertEquals(n, expectedStart);
        for (int c : seen) {
          assertEquals(1, c);
        }
        assertTrue(max - min <= 1, "balanced");
      }
    }
    // with a permutation: every sample read by exactly one worker
    int n = 997;
    int[] perm = SampleReader.permutation(n, 2, 9);
    int[] reads = new int[n];
    for (int w = 0; w < 4; w++) {
      WorkerSlice s = WorkerSlice.of(n, w, 4);
      for (int k = s.start(); k < s.end(); k++) {
        reads[perm[k]]++;
      }
    }
    assertTrue(Arrays.stream(reads).allMatch(c -> c == 1));
    assertThrows(IllegalArgumentException.class, () -> WorkerSlice.of(10, 3, 3));
    assertThrows(IllegalArgumentException.class, () -> WorkerSlice.of(10, 0, 0));
  }
}
