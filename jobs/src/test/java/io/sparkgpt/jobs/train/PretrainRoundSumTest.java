package io.sparkgpt.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgpt.cluster.RoundSum;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The averaging arithmetic of {@code pretrain}: order-independent sums, and the every-worker-once
 * check.
 */
class PretrainRoundSumTest {
  static RoundSum worker(int w, long seed) {
    Random r = new Random(seed);
    RoundSum s = new RoundSum();
    s.count = 1;
    s.markWorker(w);
    s.fp = new float[][] {floats(r, 1000), floats(r, 7)};
    s.fm = new float[][] {floats(r, 1000), floats(r, 7)};
    s.fv = new float[][] {floats(r, 1000), floats(r, 7)};
    s.step = 4;
    s.lossSum = new double[] {r.nextDouble(), r.nextDouble()};
    s.gradNormSum = new double[] {1, 2};
    s.lr = new double[] {1e-3, 1e-3};
    s.tokens = 128;
    return s;
  }

  static float[] floats(Random r, int n) {
    float[] f = new float[n];
    for (int i = 0; i < n; i++) {
      f[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(6) - 3));
    }
    return f;
  }

  @Test
  void theMeanDoesNotDependOnTheCombinationOrder() {
    int n = 5;
    RoundSum left = new RoundSum();
    for (int w = 0; w < n; w++) {
      left = RoundSum.merge(left, worker(w, w));
    }
    RoundSum tree =
        RoundSum.merge(
            RoundSum.merge(worker(3, 3), worker(1, 1)),
            RoundSum.merge(worker(4, 4), RoundSum.merge(worker(0, 0), worker(2, 2))));
    assertTrue(left.hasExactlyWorkers(n));
    assertTrue(tree.hasExactlyWorkers(n));
    assertEquals(4, left.step);
    assertEquals(5 * 128, tree.tokens);
    for (int which = 0; which < 3; which++) {
      float[][] a = left.mean(which);
      float[][] b = tree.mean(which);
      for (int i = 0; i < a.length; i++) {
        assertArrayEquals(a[i], b[i], 0f);
      }
    }
    // the mean of one element, by hand
    double s = 0;
    for (int w = 0; w < n; w++) {
      s += worker(w, w).fp[1][3];
    }
    assertEquals((float) (s / n), left.mean(0)[1][3], 0f);
  }

  @Test
  void aRoundWithAMissingOrDuplicateWorkerIsRefused() {
    RoundSum two = RoundSum.merge(worker(0, 0), worker(2, 2));
    assertFalse(two.hasExactlyWorkers(2), "workers 0 and 2 are not 0..1");
    assertFalse(two.hasExactlyWorkers(3), "one of three missing");
    assertThrows(
        IllegalStateException.class,
        () -> RoundSum.merge(RoundSum.merge(worker(0, 0), worker(1, 1)), worker(1, 1)));
    RoundSum one = worker(0, 0);
    assertTrue(one.hasExactlyWorkers(1));
    RoundSum odd = worker(1, 1);
    odd.step = 5;
    assertEquals(
        -1, RoundSum.merge(worker(0, 0), odd).step, "workers at different steps are flagged");
  }
}
