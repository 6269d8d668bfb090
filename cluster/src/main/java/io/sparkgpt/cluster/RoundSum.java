package io.sparkgpt.cluster;

import java.io.Serializable;
import java.util.Arrays;
import java.util.TreeMap;

/**
 * What workers return after a round, and the sum of several of them (the {@code treeAggregate}
 * value). One worker's result keeps its float arrays; a merge of two or more sums them in double
 * precision, so that the sum of N results does not depend on the order in which Spark combines them
 * (the float values being summed are exactly representable and N is small, so the double sums are
 * exact in practice): a resumed run reproduces an uninterrupted one bit for bit.
 */
public final class RoundSum implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Worker results summed. */
  public int count;

  /** Bit set of the worker indexes summed (workers < 64 checked exactly; more only counted). */
  public long[] workers = new long[0];

  /**
   * One worker's arrays (count == 1): parameters (or gradients, in gradient mode), moments (null
   * then).
   */
  public float[][] fp;

  public float[][] fm;
  public float[][] fv;

  /** Sums (count >= 2). */
  public double[][] dp;

  public double[][] dm;
  public double[][] dv;

  /** Optimizer step every worker ended at; -1 if they disagreed. */
  public long step = Long.MIN_VALUE;

  /**
   * Per local step: sum over workers of the step's loss, gradient norm; the learning rate (same
   * everywhere).
   */
  public double[] lossSum;

  public double[] gradNormSum;
  public double[] lr;
  public long tokens;

  /**
   * Figures of the objective summed over the workers (PPO: clipped ratios, sum of -log ratio,
   * response tokens).
   */
  public double[] statSums;

  /** Worker index to where it ran ("executor 1 gpu 0"), for the log. */
  public TreeMap<Integer, String> placement = new TreeMap<>();

  public double computeMsMax;
  public double dataMsMax;
  public double computeMsSum;
  public double dataMsSum;

  public RoundSum() {}

  /**
   * Worker {@code w}'s result: its parameters (or gradients, then no moments) and moments, the
   * optimizer step it ended at, and where it ran; the caller adds its figures (losses, timings).
   */
  public static RoundSum ofWorker(
      int w, String placement, float[][] params, float[][] m, float[][] v, long step) {
    RoundSum r = new RoundSum();
    r.count = 1;
    r.markWorker(w);
    r.placement.put(w, placement);
    r.fp = params;
    r.fm = m;
    r.fv = v;
    r.step = step;
    return r;
  }

  public void markWorker(int w) {
    int word = w >>> 6;
    if (workers.length <= word) {
      workers = Arrays.copyOf(workers, word + 1);
    }
    workers[word] |= 1L << (w & 63);
  }

  /** Whether exactly the workers 0..n-1 are in this sum, each once. */
  public boolean hasExactlyWorkers(int n) {
    if (count != n) {
      return false;
    }
    int seen = 0;
    for (long word : workers) {
      seen += Long.bitCount(word);
    }
    if (seen != n) {
      return false;
    }
    for (int w = 0; w < n; w++) {
      if ((workers[w >>> 6] & (1L << (w & 63))) == 0) {
        return false;
      }
    }
    return true;
  }

  /** a + b, reusing a or b; neither is used afterwards. */
  public static RoundSum merge(RoundSum a, RoundSum b) {
    if (a.count == 0) {
      return b;
    }
    if (b.count == 0) {
      return a;
    }
    for (int i = 0; i < Math.min(a.workers.length, b.workers.length); i++) {
      if ((a.workers[i] & b.workers[i]) != 0) {
        throw new IllegalStateException("a worker's result was counted twice in one round");
      }
    }
    a.toDouble();
    a.dp = add(a.dp, b.dp, b.fp);
    a.dm = add(a.dm, b.dm, b.fm);
    a.dv = add(a.dv, b.dv, b.fv);
    long[] w = Arrays.copyOf(a.workers, Math.max(a.workers.length, b.workers.length));
    for (int i = 0; i < b.workers.length; i++) {
      w[i] |= b.workers[i];
    }
    a.workers = w;
    a.step = a.step == b.step ? a.step : -1;
    a.lossSum = addStats(a.lossSum, b.lossSum);
    a.gradNormSum = addStats(a.gradNormSum, b.gradNormSum);
    a.tokens += b.tokens;
    a.statSums =
        a.statSums == null
            ? b.statSums
            : b.statSums == null ? a.statSums : addStats(a.statSums, b.statSums);
    a.placement.putAll(b.placement);
    a.computeMsMax = Math.max(a.computeMsMax, b.computeMsMax);
    a.dataMsMax = Math.max(a.dataMsMax, b.dataMsMax);
    a.computeMsSum += b.computeMsSum;
    a.dataMsSum += b.dataMsSum;
    a.count += b.count;
    return a;
  }

  private void toDouble() {
    if (dp == null) {
      dp = widen(fp);
      dm = widen(fm);
      dv = widen(fv);
      fp = fm = fv = null;
    }
  }

  private static double[][] widen(float[][] f) {
    if (f == null) {
      return null; // gradients only: no moments
    }
    double[][] d = new double[f.length][];
    for (int i = 0; i < f.length; i++) {
      d[i] = new double[f[i].length];
      for (int j = 0; j < f[i].length; j++) {
        d[i][j] = f[i][j];
      }
    }
    return d;
  }

  private static double[][] add(double[][] acc, double[][] d, float[][] f) {
    if (acc == null) {
      return null;
    }
    for (int i = 0; i < acc.length; i++) {
      double[] a = acc[i];
      if (d != null) {
        double[] x = d[i];
        for (int j = 0; j < a.length; j++) {
          a[j] += x[j];
        }
      } else {
        float[] x = f[i];
        for (int j = 0; j < a.length; j++) {
          a[j] += x[j];
        }
      }
    }
    return acc;
  }

  private static double[] addStats(double[] a, double[] b) {
    double[] out = a.clone();
    for (int i = 0; i < out.length; i++) {
      out[i] += b[i];
    }
    return out;
  }

  /**
   * The mean of the summed arrays (sum / count, rounded to float): 0 parameters, 1 first moments, 2
   * second moments.
   */
  public float[][] mean(int which) {
    RoundSum s = this;
    double[][] d = which == 0 ? s.dp : which == 1 ? s.dm : s.dv;
    float[][] f = which == 0 ? s.fp : which == 1 ? s.fm : s.fv;
    if (d == null && f == null) {
      return null;
    }
    if (d == null) {
      float[][] out = new float[f.length][];
      for (int i = 0; i < f.length; i++) {
        out[i] = f[i].clone(); // a single worker: the mean is its own result
      }
      return out;
    }
    float[][] out = new float[d.length][];
    for (int i = 0; i < d.length; i++) {
      out[i] = new float[d[i].length];
      for (int j = 0; j < d[i].length; j++) {
        out[i][j] = (float) (d[i][j] / s.count);
      }
    }
    return out;
  }
}
