package io.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Packing ({@link Batch#segments()}): examples sharing a row see neither each other (block-diagonal
 * causal mask) nor a shifted position (position ids restart per example), so a packed batch gives
 * each example the loss, and the step the gradient, that the examples padded one per row give.
 */
class PackedBatchTest {
  private static final GptConfig CFG =
      new GptConfig(97, 48, 32, 2, 2, 4, 0.0, true, true, "float32");
  private static final int T = 40;

  /** Five examples of 6 to 17 tokens, the loss on all but their first 1 to 4 tokens. */
  private static int[][] examples() {
    Random r = new Random(3);
    int[][] ex = new int[5][];
    for (int i = 0; i < ex.length; i++) {
      ex[i] = new int[6 + r.nextInt(12)];
      for (int j = 0; j < ex[i].length; j++) {
        ex[i][j] = r.nextInt(CFG.vocabSize());
      }
    }
    return ex;
  }

  private static int lossFrom(int i) {
    return 1 + i % 4;
  }

  /**
   * Example i alone in a row of T + 1 tokens, padded, with the mask on its targets from lossFrom
   * (or only {@code only}'s).
   */
  private static Batch onePerRow(int[][] ex) {
    int[][] tokens = new int[ex.length][T + 1];
    float[][] mask = new float[ex.length][T];
    for (int i = 0; i < ex.length; i++) {
      System.arraycopy(ex[i], 0, tokens[i], 0, ex[i].length);
      Arrays.fill(mask[i], lossFrom(i) - 1, ex[i].length - 1, 1f);
    }
    return new Batch(tokens, mask);
  }

  /**
   * Rows {0, 1, 2} and {3, 4} of the examples, back to back, the rest padding (a segment of its
   * own).
   */
  private static Batch packed(int[][] ex, int onlyExample) {
    int[][] rows = {{0, 1, 2}, {3, 4}};
    int[][] tokens = new int[2][T + 1];
    float[][] mask = new float[2][T];
    int[][] segments = new int[2][T];
    for (int b = 0; b < 2; b++) {
      int at = 0, seg = 0;
      for (int i : rows[b]) {
        System.arraycopy(ex[i], 0, tokens[b], at, ex[i].length);
        Arrays.fill(segments[b], at, at + ex[i].length, seg++);
        if (onlyExample < 0 || onlyExample == i) {
          // input at + k predicts ex[i][k + 1]; the last token of an example predicts the next
          // one's first
          Arrays.fill(mask[b], at + lossFrom(i) - 1, at + ex[i].length - 1, 1f);
        }
        at += ex[i].length;
      }
      assertTrue(at < T, "the examples fit with padding to spare");
      Arrays.fill(segments[b], at, T, seg);
    }
    return new Batch(tokens, mask, null, null, segments);
  }

  @Test
  void packedExamplesGiveTheLossesAndGradientsOfOnePerRow() {
    int[][] ex = examples();
    Gpt gpt = new Gpt(CFG, T);
    gpt.load(GptModel.initParams(CFG, 11));
    Batch padded = onePerRow(ex);
    double[] alone = gpt.sequenceLogProbs(padded);
    double worstLoss = 0;
    for (int i = 0; i < ex.length; i++) {
      double[] rows = gpt.sequenceLogProbs(packed(ex, i));
      double inPack = rows[0] + rows[1]; // the other row's mask is all 0
      worstLoss = Math.max(worstLoss, Math.abs(inPack - alone[i]) / Math.abs(alone[i]));
    }

    Batch pack = packed(ex, -1);
    assertEquals(padded.maskSum(), pack.maskSum(), 0, "the same targets");
    double units = padded.maskSum();
    gpt.zeroGrad();
    double lossPadded = gpt.forwardBackward(padded, units);
    INDArray gradPadded = gpt.flatGrads().dup();
    gpt.zeroGrad();
    double lossPacked = gpt.forwardBackward(pack, units);
    double gradRel =
        gpt.flatGrads().sub(gradPadded).norm2Number().doubleValue()
            / gradPadded.norm2Number().doubleValue();
    Map<String, INDArray> grads = gpt.grads();
    System.out.printf(
        java.util.Locale.ROOT,
        "packed vs one per row: worst per-example log-prob rel %.2e, loss %.8f vs "
            + "%.8f, gradient rel %.2e%n",
        worstLoss,
        lossPacked,
        lossPadded,
        gradRel);
    assertTrue(worstLoss < 1e-5, "per-example losses differ: " + worstLoss);
    assertEquals(lossPadded, lossPacked, 1e-5 * lossPadded);
    assertTrue(gradRel < 1e-5, "gradients differ: " + gradRel);
    // only the positions the examples use have position-embedding gradients
    int longest = Arrays.stream(ex).mapToInt(e -> e.length).max().orElseThrow();
    assertEquals(0.0, grads.get(GptModel.WPE).getRow(longest).norm2Number().doubleValue(), 0.0);

    // without the mask and the position ids, packing would not be the same: the check can fail
    Batch naive = new Batch(pack.tokens(), pack.mask());
    gpt.zeroGrad();
    assertTrue(
        Math.abs(gpt.forwardBackward(naive, units) - lossPadded) > 1e-3,
        "naive packing cross-contaminates");
  }

  @Test
  void segmentsMustBeRunsAlongTheRow() {
    int[][] segments = new int[1][T];
    segments[0][5] = 1;
    assertThrows(
        IllegalArgumentException.class,
        () -> new Batch(new int[1][T + 1], null, null, null, segments));
  }
}
