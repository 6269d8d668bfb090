package io.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * The alignment objectives of {@link Gpt}: SFT's loss mask, the pairwise reward loss and the PPO
 * loss. The two head losses are checked against central finite differences in double precision, as
 * the language-model loss is in {@link GradientCheckTest}.
 */
class AlignmentObjectivesTest {
  static final GptConfig CFG = new GptConfig(13, 8, 8, 2, 2, 4, 0.0, true, true, "float64");
  static final int T = 6;

  /** Parameters scaled up from GPT-2 init so that every path contributes visibly. */
  static Map<String, INDArray> params(Head head) {
    Map<String, INDArray> p = GptModel.withNewHead(CFG, GptModel.initParams(CFG, 7), head, 9);
    p.forEach(
        (k, v) -> {
          Random r = new Random(k.hashCode());
          for (long i = 0; i < v.length(); i++) {
            double x =
                k.contains("ln_") ? v.getDouble(i) + 0.3 * r.nextGaussian() : v.getDouble(i) * 10;
            v.putScalar(i, k.endsWith(".bias") && !k.contains("ln_") ? 0.1 * r.nextGaussian() : x);
          }
        });
    return p;
  }

  /**
   * The gradient of a masked batch is exactly the sum of the per-position gradients of its unmasked
   * positions: prompt (and padding) positions contribute nothing, although each of them alone has a
   * non-zero gradient.
   */
  /** An engine for {@code objective} loaded with {@link #params}. */
  static Gpt engine(Objective objective) {
    Gpt model = new Gpt(CFG, T, objective);
    model.load(params(objective.head()));
    return model;
  }

  /** Loss and a copy of the gradients of one batch. */
  record LossAndGrads(double loss, Map<String, INDArray> grads) {}

  static LossAndGrads lossAndGradients(Gpt model, Batch batch, double normalizer) {
    model.zeroGrad();
    double loss = model.forwardBackward(batch, normalizer);
    Map<String, INDArray> g = new LinkedHashMap<>();
    model.grads().forEach((k, v) -> g.put(k, v.dup()));
    return new LossAndGrads(loss, g);
  }

  @Test
  void maskedPromptPositionsContributeNoGradient() {
    Gpt model = engine(Objective.lm());
    int[][] tokens = TestData.randomTokens(1, T, CFG.vocabSize(), 5);
    float[][] sft = {{0, 0, 0, 1, 1, 0}}; // prompt 0..2, completion 3..4, padding 5
    Map<String, INDArray> masked = lossAndGradients(model, new Batch(tokens, sft), 1).grads();
    Map<String, INDArray> completion = null;
    Map<String, INDArray> prompt = null;
    for (int t = 0; t < T; t++) {
      float[][] one = new float[1][T];
      one[0][t] = 1;
      Map<String, INDArray> g = lossAndGradients(model, new Batch(tokens, one), 1).grads();
      if (sft[0][t] == 1) {
        completion = add(completion, g);
      } else {
        prompt = add(prompt, g);
      }
    }
    for (String k : masked.keySet()) {
      double diff = masked.get(k).sub(completion.get(k)).norm2Number().doubleValue();
      assertTrue(
          diff < 1e-10 * (1 + completion.get(k).norm2Number().doubleValue()),
          k + " differs by " + diff);
    }
    assertTrue(
        AdamW.globalNorm(prompt) > 1e-3,
        "prompt positions alone do have gradients: the mask removes them");

    // The label of the last (padding) position is not an input of any position: changing it changes
    // nothing.
    int[][] other = {tokens[0].clone()};
    other[0][T] = (other[0][T] + 1) % CFG.vocabSize();
    LossAndGrads a = lossAndGradients(model, new Batch(tokens, sft), 2);
    LossAndGrads b = lossAndGradients(model, new Batch(other, sft), 2);
    assertEquals(a.loss(), b.loss(), 0.0);
    for (String k : a.grads().keySet()) {
      assertArrayEquals(
          a.grads().get(k).ravel().toDoubleVector(),
          b.grads().get(k).ravel().toDoubleVector(),
          0.0,
          k);
    }
  }

  private static Map<String, INDArray> add(Map<String, INDArray> acc, Map<String, INDArray> g) {
    if (acc == null) {
      Map<String, INDArray> c = new LinkedHashMap<>();
      g.forEach((k, v) -> c.put(k, v.dup()));
      return c;
    }
    g.forEach((k, v) -> acc.get(k).addi(v));
    return acc;
  }

  /** Two pairs: rows 0, 1 chosen, rows 2, 3 rejected, read at different last-token positions. */
  static Batch pairBatch() {
    int[][] tokens = TestData.randomTokens(4, T, CFG.vocabSize(), 21);
    int[] last = {5, 3, 4, 2};
    float[][] readAt = new float[4][T];
    for (int b = 0; b < 4; b++) {
      readAt[b][last[b]] = 1;
    }
    return new Batch(tokens, readAt);
  }

  @Test
  void pairwiseRewardGradientsMatchFiniteDifferences() {
    Gpt model = engine(Objective.pairwiseReward());
    Batch batch = pairBatch();
    float[] r = model.rewards(batch);
    double expected = 0;
    for (int i = 0; i < 2; i++) {
      expected += Math.log1p(Math.exp(-(r[i] - r[2 + i]))) / 2;
    }
    assertEquals(
        expected,
        model.loss(batch, model.lossUnits(batch)),
        1e-6,
        "mean of -log sigmoid(r_chosen - r_rejected)");
    gradientCheck(model, batch, model.lossUnits(batch));

    // The reward is the score at the read position: a token after it (padding) does not change it.
    int[][] padded = batch.tokens().clone();
    padded[1] = padded[1].clone();
    padded[1][5] = (padded[1][5] + 3) % CFG.vocabSize();
    assertEquals(r[1], model.rewards(new Batch(padded, batch.mask()))[1], 0.0);
  }

  static Batch ppoBatch(Gpt model) {
    int[][] tokens = TestData.randomTokens(2, T, CFG.vocabSize(), 31);
    float[][] mask = {{0, 0, 1, 1, 1, 0}, {0, 1, 1, 1, 1, 1}};
    Gpt.PolicyOutputs o = model.policyOutputs(new Batch(tokens, mask));
    Random r = new Random(4);
    float[][] oldLogp = new float[2][T],
        adv = new float[2][T],
        ret = new float[2][T],
        oldV = new float[2][T];
    for (int b = 0; b < 2; b++) {
      for (int t = 0; t < T; t++) {
        // some ratios inside the clip range, some outside; some values clipped
        oldLogp[b][t] = o.logp()[b][t] + (float) (0.4 * r.nextGaussian());
        adv[b][t] = (float) r.nextGaussian();
        ret[b][t] = (float) r.nextGaussian();
        oldV[b][t] = o.values()[b][t] + (float) (0.5 * r.nextGaussian());
      }
    }
    return new Batch(tokens, mask, new Batch.PpoTargets(oldLogp, adv, ret, oldV));
  }

  @Test
  void ppoGradientsMatchFiniteDifferences() {
    Gpt model = engine(Objective.ppo(0.2, 0.2, 0.5, 0.01));
    Batch batch = ppoBatch(model);
    model.forwardBackward(batch, model.lossUnits(batch));
    double clipped = 0;
    for (double ratio : model.ratios().toDoubleVector()) {
      clipped += Math.abs(ratio - 1) > 0.2 ? 1 : 0;
    }
    assertTrue(
        clipped > 0 && clipped < T * 2, "the batch exercises both sides of the clip: " + clipped);
    gradientCheck(model, batch, model.lossUnits(batch));
  }

  /** The policy's per-token log-probabilities are the LM's log-softmax at the next token. */
  @Test
  void policyLogProbabilitiesMatchTheLanguageModel() {
    Map<String, INDArray> p = params(Head.VALUE);
    Gpt policy = new Gpt(CFG, T, Objective.ppo(0.2, 0.2, 0.5, 0));
    policy.load(p);
    Gpt lm = new Gpt(CFG, T);
    lm.load(GptModel.backbone(CFG, p));
    Batch b = new Batch(TestData.randomTokens(2, T, CFG.vocabSize(), 8), null);
    float[][] logp = policy.policyOutputs(b).logp();
    INDArray logits = lm.logits(b);
    for (int i = 0; i < 2; i++) {
      for (int t = 0; t < T; t++) {
        INDArray row = logits.get(NDArrayIndex.point(i), NDArrayIndex.point(t), NDArrayIndex.all());
        double lse =
            Math.log(Transforms.exp(row.sub(row.maxNumber()), true).sumNumber().doubleValue())
                + row.maxNumber().doubleValue();
        assertEquals(row.getDouble(b.tokens()[i][t + 1]) - lse, logp[i][t], 1e-5);
      }
    }
  }

  /**
   * With dropout the gradients are those of the loss under the pass's masks: finite differences of
   * training passes with the same seed. The masks sit in the trunk (embeddings, attention, both
   * residual branches), the same for every objective; PPO's loss reaches both heads.
   */
  @Test
  void dropoutGradientsMatchFiniteDifferences() {
    Objective objective = Objective.ppo(0.2, 0.2, 0.5, 0.01);
    Gpt model = new Gpt(CFG.withDropout(0.3), T, objective);
    model.load(params(objective.head()));
    Batch batch = ppoBatch(model);
    double units = model.lossUnits(batch);
    model.zeroGrad();
    double dropped = model.forwardBackward(batch, units, 5);
    assertTrue(Math.abs(dropped - model.loss(batch, units)) > 1e-6, "the masks change the loss");
    gradientCheck(model, batch, units, 5);
  }

  /**
   * Central differences for a sample of elements of every tensor (see {@link GradientCheckTest}).
   */
  static void gradientCheck(Gpt model, Batch batch, double normalizer) {
    gradientCheck(model, batch, normalizer, -1);
  }

  /** As above, for training passes with dropout seed {@code dropoutSeed} (none when negative). */
  static void gradientCheck(Gpt model, Batch batch, double normalizer, long dropoutSeed) {
    model.zeroGrad();
    double loss = model.forwardBackward(batch, normalizer, dropoutSeed);
    Map<String, INDArray> grads = new LinkedHashMap<>();
    model.grads().forEach((k, v) -> grads.put(k, v.dup()));
    LossAndGrads lg = new LossAndGrads(loss, grads);
    java.util.function.DoubleSupplier lossNow =
        () ->
            dropoutSeed < 0
                ? model.loss(batch, normalizer)
                : model.forwardBackward(batch, normalizer, dropoutSeed);
    assertEquals(lossNow.getAsDouble(), lg.loss(), 1e-12, "loss from the gradient pass vs forward");
    Map<String, INDArray> params = model.params();
    double eps = 1e-6;
    Random pick = new Random(3);
    List<String> failures = new ArrayList<>();
    int checked = 0;
    for (Map.Entry<String, INDArray> e : params.entrySet()) {
      INDArray p = e.getValue();
      INDArray g = lg.grads().get(e.getKey());
      List<Long> idx = new ArrayList<>(List.of(0L));
      if (e.getKey().equals(GptModel.WTE)) {
        idx.add((long) batch.tokens()[1][2] * CFG.dModel() + 3);
      }
      for (int k = 0; k < 2; k++) {
        idx.add((long) pick.nextInt((int) p.length()));
      }
      for (long i : idx) {
        double orig = p.getDouble(i);
        p.putScalar(i, orig + eps);
        double lp = lossNow.getAsDouble();
        p.putScalar(i, orig - eps);
        double lm = lossNow.getAsDouble();
        p.putScalar(i, orig);
        double num = (lp - lm) / (2 * eps);
        double ana = g.getDouble(i);
        double abs = Math.abs(num - ana);
        double rel = abs / Math.max(1e-8, Math.abs(num) + Math.abs(ana));
        checked++;
        if (abs > 1e-8 && rel > 1e-5) {
          failures.add(
              String.format(
                  "%s[%d]: analytic %.9g numeric %.9g (rel %.2e)", e.getKey(), i, ana, num, rel));
        }
      }
    }
    assertTrue(
        failures.isEmpty(),
        failures.size() + " of " + checked + " entries differ:\n" + String.join("\n", failures));
  }
}
