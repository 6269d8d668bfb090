package io.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Central finite differences against the explicit backward of {@link Gpt}, in double precision on a
 * very small config, for every parameter tensor (a sample of elements of each, always including
 * element 0 and the token embedding rows that occur in the batch), with a loss mask that leaves
 * tokens out.
 */
class GradientCheckTest {

  @ParameterizedTest(name = "bias={0} tied={1}")
  @CsvSource({"true,true", "false,false"})
  void analyticGradientsMatchFiniteDifferences(boolean bias, boolean tied) {
    GptConfig cfg = new GptConfig(13, 8, 8, 2, 2, 4, 0.0, bias, tied, "float64");
    int t = 6;
    Gpt model = new Gpt(cfg, t);
    model.load(GptModel.initParams(cfg, 7));
    Map<String, INDArray> params = model.params();
    // larger weights than GPT-2 init so that every path contributes visibly
    params.forEach(
        (k, v) -> {
          if (!k.contains("ln_")) {
            v.muli(10);
          }
        });
    params.forEach(
        (k, v) -> {
          if (k.contains("ln_")) {
            Random r = new Random(k.hashCode());
            for (long i = 0; i < v.length(); i++) {
              v.putScalar(i, v.getDouble(i) + 0.3 * r.nextGaussian());
            }
          }
        });
    int[][] tokens = TestData.randomTokens(3, t, cfg.vocabSize(), 11);
    float[][] mask = new float[3][t];
    for (int b = 0; b < 3; b++) {
      for (int i = 0; i < t; i++) {
        mask[b][i] = (b + i) % 4 == 0 ? 0f : 1f;
      }
    }
    Batch batch = new Batch(tokens, mask);
    double n = batch.maskSum();
    model.zeroGrad();
    double loss = model.forwardBackward(batch, n);
    double l0 = model.loss(batch, n);
    assertTrue(
        Math.abs(loss - l0) < 1e-12, "loss from the gradient pass " + loss + " vs forward " + l0);

    double eps = 1e-6;
    Random pick = new Random(3);
    List<String> failures = new ArrayList<>();
    int checked = 0;
    double worst = 0;
    for (Map.Entry<String, INDArray> e : params.entrySet()) {
      INDArray p = e.getValue();
      INDArray g = model.grads().get(e.getKey());
      List<Long> idx = new ArrayList<>();
      idx.add(0L);
      if (e.getKey().equals(GptModel.WTE)) {
        idx.add((long) tokens[1][2] * cfg.dModel() + 3); // a row used as input (and as output)
        idx.add((long) tokens[0][0] * cfg.dModel());
      }
      for (int k = 0; k < 6; k++) {
        idx.add((long) pick.nextInt((int) p.length()));
      }
      for (long i : idx) {
        double orig = p.getDouble(i);
        p.putScalar(i, orig + eps);
        double lp = model.loss(batch, n);
        p.putScalar(i, orig - eps);
        double lm = model.loss(batch, n);
        p.putScalar(i, orig);
        double num = (lp - lm) / (2 * eps);
        double ana = g.getDouble(i);
        double abs = Math.abs(num - ana);
        double rel = abs / Math.max(1e-8, Math.abs(num) + Math.abs(ana));
        checked++;
        if (Math.abs(num) + Math.abs(ana) > 1e-7) {
          worst = Math.max(worst, rel);
        }
        if (abs > 1e-8 && rel > 1e-5) {
          failures.add(
              String.format(
                  "%s[%d]: analytic %.9g numeric %.9g (rel %.2e)", e.getKey(), i, ana, num, rel));
        }
      }
    }
    assertTrue(
        failures.isEmpty(),
        failures.size()
            + " of "
            + checked
            + " gradient entries differ:\n"
            + String.join("\n", failures));
    System.out.printf("gradient check: %d entries, worst relative error %.2e%n", checked, worst);
  }
}
