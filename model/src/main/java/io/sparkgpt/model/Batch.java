package io.sparkgpt.model;

import io.sparkgpt.tokenizer.dataset.SampleOrder;
import java.util.Arrays;

/**
 * A micro-batch of B samples of {@code T + 1} tokens each: the inputs are {@code tokens[b][0..T)},
 * the targets {@code tokens[b][1..T]} (the dataset's sample layout). {@code mask[b][t]} (optional;
 * all ones when null) weights the loss of predicting {@code tokens[b][t + 1]}: 0 leaves the token
 * out (SFT masks the prompt this way). {@code ppo} (only for {@link Objective.Kind#PPO}) holds the
 * rollout's per-position targets; {@code referenceLogps} (only for {@link Objective.Kind#DPO}) each
 * row's log-probability under the frozen reference model ({@link Gpt#sequenceLogProbs}). {@code
 * segments} (optional, [B][T]) packs several examples into a row: input position t belongs to
 * example {@code segments[b][t]} (non-decreasing along the row, so each example is one run of
 * positions); attention then stays within an example and position ids restart at 0 with each one.
 * Without it, a row is one sequence.
 */
public record Batch(
    int[][] tokens, float[][] mask, PpoTargets ppo, double[] referenceLogps, int[][] segments) {

  /**
   * Per-position PPO inputs, each {@code [B][T]} aligned with the mask: log-probability of {@code
   * tokens[b][t+1]} under the policy that sampled it, advantage, return (value target) and the
   * value estimate at sampling time.
   */
  public record PpoTargets(
      float[][] oldLogp, float[][] advantages, float[][] returns, float[][] oldValues) {}

  public Batch(int[][] tokens, float[][] mask) {
    this(tokens, mask, null, null, null);
  }

  public Batch(int[][] tokens, float[][] mask, PpoTargets ppo) {
    this(tokens, mask, ppo, null, null);
  }

  public Batch {
    if (tokens.length == 0) {
      throw new IllegalArgumentException("empty batch");
    }
    int n = tokens[0].length;
    if (n < 2) {
      throw new IllegalArgumentException("a sample needs at least 2 tokens");
    }
    for (int[] s : tokens) {
      if (s.length != n) {
        throw new IllegalArgumentException("samples of different lengths in one batch");
      }
    }
    if (mask != null) {
      if (mask.length != tokens.length) {
        throw new IllegalArgumentException(
            "mask has " + mask.length + " rows, the batch " + tokens.length);
      }
      for (float[] m : mask) {
        if (m.length != n - 1) {
          throw new IllegalArgumentException("mask rows must have T = " + (n - 1) + " entries");
        }
      }
    }
    if (ppo != null) {
      for (float[][] a :
          new float[][][] {ppo.oldLogp(), ppo.advantages(), ppo.returns(), ppo.oldValues()}) {
        if (a.length != tokens.length || a[0].length != n - 1) {
          throw new IllegalArgumentException("PPO targets must be [B][T]");
        }
      }
    }
    if (referenceLogps != null && referenceLogps.length != tokens.length) {
      throw new IllegalArgumentException(
          "reference log-probabilities: "
              + referenceLogps.length
              + " for "
              + tokens.length
              + " rows");
    }
    if (segments != null) {
      if (segments.length != tokens.length) {
        throw new IllegalArgumentException(
            "segments have " + segments.length + " rows, the batch " + tokens.length);
      }
      for (int[] row : segments) {
        if (row.length != n - 1) {
          throw new IllegalArgumentException("segment rows must have T = " + (n - 1) + " entries");
        }
        for (int t = 1; t < row.length; t++) {
          if (row[t] < row[t - 1]) {
            throw new IllegalArgumentException("segment ids must not decrease along a row");
          }
        }
      }
    }
  }

  /** This batch with the reference model's per-row log-probabilities (DPO). */
  public Batch withReferenceLogps(double[] logps) {
    return new Batch(tokens, mask, ppo, logps, segments);
  }

  /**
   * Position ids [B*T]: each position's offset from the start of its example ({@code t} without
   * segments).
   */
  int[] positionsFlat() {
    int t = seqLen();
    int[] out = new int[size() * t];
    for (int b = 0; b < size(); b++) {
      for (int i = 0, start = 0; i < t; i++) {
        if (segments != null && i > 0 && segments[b][i] != segments[b][i - 1]) {
          start = i;
        }
        out[b * t + i] = i - start;
      }
    }
    return out;
  }

  public static Batch of(int[][] tokens) {
    return new Batch(tokens, null);
  }

  /** The samples at positions {@code [from, from + b)} of a training order. */
  public static Batch from(SampleOrder order, long from, int b) {
    int[][] t = new int[b][order.sampleTokens()];
    for (int i = 0; i < b; i++) {
      order.sample(from + i, t[i]);
    }
    return of(t);
  }

  public int size() {
    return tokens.length;
  }

  public int seqLen() {
    return tokens[0].length - 1;
  }

  /** Tokens the loss is computed on (sum of the mask). */
  public double maskSum() {
    if (mask == null) {
      return (double) size() * seqLen();
    }
    double s = 0;
    for (float[] m : mask) {
      for (float v : m) {
        s += v;
      }
    }
    return s;
  }

  int[] inputsFlat() {
    int t = seqLen();
    int[] out = new int[size() * t];
    for (int b = 0; b < size(); b++) {
      System.arraycopy(tokens[b], 0, out, b * t, t);
    }
    return out;
  }

  int[] targetsFlat() {
    int t = seqLen();
    int[] out = new int[size() * t];
    for (int b = 0; b < size(); b++) {
      System.arraycopy(tokens[b], 1, out, b * t, t);
    }
    return out;
  }

  static float[] flat(float[][] rows) {
    int t = rows[0].length;
    float[] out = new float[rows.length * t];
    for (int b = 0; b < rows.length; b++) {
      System.arraycopy(rows[b], 0, out, b * t, t);
    }
    return out;
  }

  float[] maskFlat() {
    int t = seqLen();
    float[] out = new float[size() * t];
    if (mask == null) {
      Arrays.fill(out, 1f);
    } else {
      for (int b = 0; b < size(); b++) {
        System.arraycopy(mask[b], 0, out, b * t, t);
      }
    }
    return out;
  }
}
