package io.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Causality, the KV-cache decoder against the graph, gradient accumulation, overfitting one batch,
 * schedule.
 */
class ModelPropertiesTest {

  @Test
  void changingTokenTChangesNoLogitBeforeT() {
    GptConfig cfg = TestData.micro(50, 16, "float32");
    int t = 16;
    Gpt model = new Gpt(cfg, t);
    model.load(GptModel.initParams(cfg, 1));
    int[][] a = TestData.randomTokens(1, t, cfg.vocabSize(), 5);
    for (int pos : new int[] {0, 5, t - 1}) {
      int[][] b = {a[0].clone()};
      b[0][pos] = (b[0][pos] + 17) % cfg.vocabSize();
      INDArray la = model.logits(Batch.of(a));
      INDArray lb = model.logits(Batch.of(b));
      for (int i = 0; i < t; i++) {
        INDArray ra = la.get(NDArrayIndex.point(0), NDArrayIndex.point(i), NDArrayIndex.all());
        INDArray rb = lb.get(NDArrayIndex.point(0), NDArrayIndex.point(i), NDArrayIndex.all());
        double diff = ra.sub(rb).amaxNumber().doubleValue();
        if (i < pos) {
          assertEquals(0.0, diff, 0.0, "changing token " + pos + " changed logits at " + i);
        } else {
          assertTrue(diff > 0, "changing token " + pos + " left logits at " + i + " unchanged");
        }
      }
    }
  }

  @Test
  void kvCacheDecoderMatchesTheTrainingForward() {
    GptConfig cfg = new GptConfig(40, 12, 16, 2, 4, 4, 0.0, true, true, "float64");
    int t = 12;
    Gpt model = new Gpt(cfg, t);
    Map<String, INDArray> params = GptModel.initParams(cfg, 2);
    params.values().forEach(v -> v.muli(5)); // make attention non-uniform
    model.load(params);
    int[][] tok = TestData.randomTokens(1, t, cfg.vocabSize(), 9);
    INDArray ref =
        model
            .logits(Batch.of(tok))
            .get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.all());
    int[] ids = java.util.Arrays.copyOf(tok[0], t);

    Decoder full = new Decoder(cfg, params, false);
    Decoder cached = new Decoder(cfg, params, true);
    INDArray prefill = cached.forwardAll(java.util.Arrays.copyOf(ids, 5)); // 5 tokens at once
    assertTrue(maxRel(prefill, ref.get(NDArrayIndex.interval(0, 5), NDArrayIndex.all())) < 1e-10);
    full.forwardAll(java.util.Arrays.copyOf(ids, 5));
    for (int i = 5; i < t; i++) {
      INDArray c = cached.forward(new int[] {ids[i]});
      INDArray f = full.forward(new int[] {ids[i]});
      INDArray r = ref.getRow(i);
      assertTrue(maxRel(c, r) < 1e-10, "cached logits at " + i + " differ: " + maxRel(c, r));
      assertTrue(maxRel(f, r) < 1e-10, "uncached logits at " + i + " differ: " + maxRel(f, r));
    }
    assertThrows(IllegalArgumentException.class, () -> cached.forward(new int[] {1}));
  }

  @Test
  void accumulatingMicroBatchesEqualsOneBatch() {
    GptConfig cfg = TestData.micro(30, 8, "float64");
    Map<String, INDArray> params = GptModel.initParams(cfg, 4);
    StepRunner runner =
        new StepRunner(cfg, 8, AdamW.Hyper.defaults(), LrSchedule.constant(1e-3), 1.0);
    int[][] tok = TestData.randomTokens(4, 8, cfg.vocabSize(), 3);
    float[][] mask = new float[4][8];
    for (int b = 0; b < 4; b++) {
      for (int i = 0; i < 8; i++) {
        mask[b][i] = (i + 2 * b) % 3 == 0 ? 0 : 1;
      }
    }
    StepRunner.Accumulated one = runner.accumulate(params, List.of(new Batch(tok, mask)), 0);
    StepRunner.Accumulated two =
        runner.accumulate(
            params,
            List.of(
                new Batch(new int[][] {tok[0], tok[1]}, new float[][] {mask[0], mask[1]}),
                new Batch(new int[][] {tok[2], tok[3]}, new float[][] {mask[2], mask[3]})),
            0);
    assertEquals(one.loss(), two.loss(), 1e-12);
    for (String k : one.grads().keySet()) {
      assertTrue(maxRel(one.grads().get(k), two.grads().get(k)) < 1e-10, k);
    }
  }

  @Test
  void overfitsOneBatchBelowPointOne() {
    GptConfig cfg = new GptConfig(64, 32, 64, 2, 4, 4, 0.0, true, true, "float32");
    Map<String, INDArray> params = GptModel.initParams(cfg, 5);
    AdamW.State opt = AdamW.State.zeros(params);
    StepRunner runner =
        new StepRunner(
            cfg,
            32,
            new AdamW.Hyper(0.9, 0.95, 1e-8, 0.0),
            new LrSchedule(3e-3, 3e-3, 10, 10),
            1.0);
    Batch batch = Batch.of(TestData.randomTokens(4, 32, cfg.vocabSize(), 8));
    double loss = Double.NaN;
    int steps = 0;
    for (; steps < 300; steps++) {
      loss = runner.step(params, opt, List.of(batch), 0).loss();
      if (loss < 0.1) {
        break;
      }
    }
    System.out.printf("overfit: loss %.4f after %d steps%n", loss, steps + 1);
    assertTrue(loss < 0.1, "loss " + loss + " after " + steps + " steps");
  }

  @Test
  void dropoutIsSeededInTrainingAndOffInEvaluation() {
    GptConfig cfg = TestData.micro(30, 8, "float32").withDropout(0.2);
    Gpt model = new Gpt(cfg, 8);
    model.load(GptModel.initParams(cfg, 6));
    Batch batch = Batch.of(TestData.randomTokens(2, 8, cfg.vocabSize(), 2));
    model.zeroGrad();
    double a = model.forwardBackward(batch, batch.maskSum(), 1);
    INDArray gradA = model.flatGrads().dup();
    model.zeroGrad();
    double b = model.forwardBackward(batch, batch.maskSum(), 1);
    assertEquals(a, b, 0.0, "same dropout seed, same loss");
    assertEquals(gradA, model.flatGrads(), "same dropout seed, same gradients");
    double c = model.forwardBackward(batch, batch.maskSum(), 2);
    assertTrue(Math.abs(a - c) > 1e-4, "another dropout seed changes the loss");
    Gpt plain = new Gpt(cfg.withDropout(0.0), 8);
    plain.load(model.params());
    double evalLoss = model.loss(batch, batch.maskSum());
    assertEquals(plain.loss(batch, batch.maskSum()), evalLoss, 1e-6, "evaluation uses no dropout");
    assertTrue(Math.abs(a - evalLoss) > 1e-4, "training passes do drop");
  }

  @Test
  void scheduleWarmsUpThenDecays() {
    LrSchedule s = new LrSchedule(1e-3, 1e-4, 10, 110);
    assertEquals(1e-4, s.lr(0), 1e-15);
    assertEquals(1e-3, s.lr(9), 1e-15);
    assertEquals(1e-3, s.lr(10), 1e-15);
    assertEquals(0.55e-3, s.lr(60), 1e-12);
    assertEquals(1e-4, s.lr(110), 1e-15);
    assertEquals(1e-4, s.lr(500), 1e-15);
  }

  @Test
  void presetsAndValidation() {
    GptConfig g = GptConfig.preset("gpt2-124m", 50257);
    assertEquals(124_439_808L, g.parameterCount()); // GPT-2 small, tied head
    assertEquals(128, GptConfig.preset("tiny", 300).dModel());
    assertEquals(8, GptConfig.preset("small", 300).nHead());
    assertThrows(
        IllegalArgumentException.class,
        () -> new GptConfig(10, 8, 10, 1, 3, 4, 0, true, true, "float32"));
    assertThrows(IllegalArgumentException.class, () -> GptConfig.preset("huge", 10));
  }

  static double maxRel(INDArray a, INDArray b) {
    double scale = Math.max(1e-30, b.amaxNumber().doubleValue());
    return a.reshape(b.shape()).sub(b).amaxNumber().doubleValue() / scale;
  }
}
