package io.sparkgpt.tokenizer.dataset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The token-weighted blend: shares, determinism, exactly-once draws, resume, worker independence
 * and caps.
 */
class MixtureTest {
  private static final List<Mixture.Source> WEB_CODE_ZH =
      List.of(
          new Mixture.Source("web", 0.7, 0),
          new Mixture.Source("code", 0.2, 0),
          new Mixture.Source("zh", 0.1, 0));
  private static final long[] SIZES = {50_000, 3_000, 777};

  /** (source, source position) of positions [0, n) read in order by one instance. */
  private static long[][] sequence(Mixture m, int n) {
    long[][] out = new long[n][];
    for (int p = 0; p < n; p++) {
      long[] w = new long[2];
      m.at(p, w);
      out[p] = w;
    }
    return out;
  }

  @Test
  void sharesAreTheWeightsAtEveryBlockBoundary() {
    Mixture m = new Mixture(WEB_CODE_ZH, SIZES, 7);
    for (long blocks : new long[] {1, 3, 10}) {
      double[] share = m.shares(blocks * Mixture.BLOCK);
      assertEquals(0.7, share[0], 1.0 / Mixture.BLOCK, Arrays.toString(share));
      assertEquals(0.2, share[1], 1.0 / Mixture.BLOCK, Arrays.toString(share));
      assertEquals(0.1, share[2], 1.0 / Mixture.BLOCK, Arrays.toString(share));
    }
    // within a block the seeded deal keeps them close too
    double[] early = m.shares(1000);
    assertEquals(0.7, early[0], 0.05, Arrays.toString(early));
    assertEquals(0.1, early[2], 0.03, Arrays.toString(early));
  }

  @Test
  void everySourcePositionIsDrawnExactlyOnceInOrder() {
    int n = 5 * Mixture.BLOCK + 123;
    long[][] seq = sequence(new Mixture(WEB_CODE_ZH, SIZES, 7), n);
    long[] next = new long[3];
    for (long[] w : seq) {
      assertEquals(next[(int) w[0]], w[1], "source " + w[0] + " skipped or repeated a position");
      next[(int) w[0]]++;
    }
    assertArrayEquals(next, new Mixture(WEB_CODE_ZH, SIZES, 7).drawn(n));
  }

  @Test
  void deterministicPerSeedAndIndependentOfWhoReadsWhat() {
    int n = 3 * Mixture.BLOCK;
    long[][] seq = sequence(new Mixture(WEB_CODE_ZH, SIZES, 7), n);
    assertTrue(
        Arrays.deepEquals(seq, sequence(new Mixture(WEB_CODE_ZH, SIZES, 7), n)),
        "same seed, same blend");
    assertFalse(
        Arrays.deepEquals(seq, sequence(new Mixture(WEB_CODE_ZH, SIZES, 8), n)),
        "another seed deals otherwise");
    // 3 workers reading interleaved micro-batches of 5, each with its own instance, and a resumed
    // reader
    // starting mid-way: every position reads the same (source, position) as the sequential reader
    for (int workers : new int[] {1, 2, 3}) {
      for (int w = 0; w < workers; w++) {
        Mixture mine = new Mixture(WEB_CODE_ZH, SIZES, 7);
        for (int first = w * 5; first < n; first += workers * 5) {
          for (int p = first; p < Math.min(n, first + 5); p++) {
            long[] at = new long[2];
            mine.at(p, at);
            assertArrayEquals(seq[p], at, "position " + p + " on worker " + w + " of " + workers);
          }
        }
      }
    }
    Mixture resumed = new Mixture(WEB_CODE_ZH, SIZES, 7);
    for (int p = n - 1; p >= n / 2; p--) {
      long[] at = new long[2];
      resumed.at(p, at);
      assertArrayEquals(seq[p], at);
    }
  }

  @Test
  void aCappedSourceStopsAndTheOthersTakeItsShare() {
    // zh: 777 samples at most twice; it would be drawn 409 or 410 times a block
    List<Mixture.Source> capped =
        List.of(WEB_CODE_ZH.get(0), WEB_CODE_ZH.get(1), new Mixture.Source("zh", 0.1, 2));
    Mixture m = new Mixture(capped, SIZES, 7);
    int n = 10 * Mixture.BLOCK;
    long[][] seq = sequence(m, n);
    long zh = Arrays.stream(seq).filter(w -> w[0] == 2).count();
    assertEquals(2 * 777, zh, "zh is drawn exactly to its cap");
    long[] drawn = m.drawn(n);
    assertEquals(zh, drawn[2]);
    // after the cap, web and code share the blocks 7:2
    long[] late = new long[3];
    for (int p = 6 * Mixture.BLOCK; p < n; p++) {
      late[(int) seq[p][0]]++;
    }
    assertEquals(0, late[2]);
    assertEquals(7.0 / 9, late[0] / (double) (4 * Mixture.BLOCK), 1.0 / Mixture.BLOCK);
    assertEquals(Long.MAX_VALUE, m.capacity(), "web and code have no cap");
  }

  @Test
  void aBlendOfCappedSourcesHasACapacity() {
    List<Mixture.Source> all =
        List.of(new Mixture.Source("a", 1, 1), new Mixture.Source("b", 3, 1));
    Mixture m = new Mixture(all, new long[] {5000, 9000}, 1);
    long cap = m.capacity();
    assertEquals(14_000, cap, "every sample of both, once");
    long[][] seq = sequence(m, (int) cap);
    long[] next = new long[2];
    for (long[] w : seq) {
      assertEquals(next[(int) w[0]]++, w[1]);
    }
    assertArrayEquals(new long[] {5000, 9000}, next);
    assertArrayEquals(next, m.drawn(cap));
    // a cap below one block's quota still draws that source, exactly to its cap
    Mixture small =
        new Mixture(
            List.of(new Mixture.Source("a", 1, 2), new Mixture.Source("b", 1, 0)),
            new long[] {300, 10},
            1);
    assertEquals(600, small.drawn(20_000)[0]);
    IllegalArgumentException past =
        assertThrows(IllegalArgumentException.class, () -> m.at(cap, new long[2]));
    assertTrue(past.getMessage().contains("past its capacity"), past.getMessage());
  }

  @Test
  void badSourcesAreRefusedWithTheirName() {
    assertThrows(IllegalArgumentException.class, () -> new Mixture.Source("web", 0, 0));
    assertThrows(IllegalArgumentException.class, () -> new Mixture.Source("web", Double.NaN, 0));
    assertThrows(IllegalArgumentException.class, () -> new Mixture.Source("web", 1, -1));
    assertThrows(IllegalArgumentException.class, () -> new Mixture.Source("a b", 1, 0));
    IllegalArgumentException empty =
        assertThrows(
            IllegalArgumentException.class,
            () -> new Mixture(List.of(new Mixture.Source("x", 1, 0)), new long[] {0}, 1));
    assertTrue(empty.getMessage().contains("x"), empty.getMessage());
  }
}
