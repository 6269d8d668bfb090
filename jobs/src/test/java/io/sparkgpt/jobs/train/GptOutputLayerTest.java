package io.sparkgpt.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgpt.cluster.Dl4jGpt;
import io.sparkgpt.cluster.Dl4jSparkTrainer;
import io.sparkgpt.cluster.GptOutputLayer;
import io.sparkgpt.model.AdamW;
import io.sparkgpt.model.Batch;
import io.sparkgpt.model.Gpt;
import io.sparkgpt.model.GptConfig;
import io.sparkgpt.model.GptModel;
import io.sparkgpt.model.StepRunner;
import io.sparkgpt.model.TrainConfig;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * The deeplearning4j layer of {@code pretrain --engine dl4j-spark} runs the explicit engine {@link
 * Gpt} of the {@code averaging} engine: same initial parameters, same logits and loss for the same
 * parameters, and one training step (Adam, weight decay, clipping, DL4J's division by the minibatch
 * size) that moves the parameters as {@link StepRunner}'s AdamW step does, once AdamW's epsilon is
 * placed as DL4J places it.
 */
class GptOutputLayerTest {
  static final GptConfig CFG = new GptConfig(512, 64, 64, 2, 2, 4, 0.0, true, true, "float32");
  static final int T = 64;

  static int[][] tokens(int b, long seed) {
    Random r = new Random(seed);
    int[][] t = new int[b][T + 1];
    for (int[] row : t) {
      for (int i = 0; i < row.length; i++) {
        row[i] = r.nextInt(CFG.vocabSize());
      }
    }
    return t;
  }

  static double maxAbsDiff(INDArray a, INDArray b) {
    return a.castTo(b.dataType()).sub(b).amaxNumber().doubleValue();
  }

  @Test
  void namesHaveNoSeparatorsAndAreDistinct() {
    Map<String, String> names = GptOutputLayer.dl4jNames(CFG);
    assertEquals("h0Ln1Weight", names.get("transformer.h.0.ln_1.weight"));
    assertEquals("h1AttnCAttnBias", names.get("transformer.h.1.attn.c_attn.bias"));
    assertEquals(GptModel.paramSpecs(CFG).size(), names.values().stream().distinct().count());
    assertTrue(
        names.values().stream().noneMatch(n -> n.contains("_") || n.contains(".")),
        names.toString());
  }

  @Test
  void sameInitLogitsLossAndStepAsTheAveragingEngine() {
    TrainConfig tc =
        TrainConfig.defaults(CFG).withBatch(4, 1).withSteps(100, 10).withLr(3e-3, 3e-4);
    MultiLayerNetwork net = Dl4jGpt.network(tc, T);
    Map<String, INDArray> init = GptModel.initParams(CFG, tc.seed());
    Map<String, INDArray> params = Dl4jGpt.params(net, CFG);
    for (String name : init.keySet()) {
      assertEquals(0.0, maxAbsDiff(params.get(name), init.get(name)), 0.0, name);
    }

    int[][] tokens = tokens(4, 5);
    DataSet ds = Dl4jSparkTrainer.dataSet(tokens); // as the engine's workers build them
    Gpt engine = new Gpt(CFG, T);
    engine.load(params);
    INDArray expected = engine.logits(Batch.of(tokens)).reshape(4L * T, CFG.vocabSize());
    INDArray logits = net.output(ds.getFeatures());
    double diff = maxAbsDiff(logits, expected);
    System.out.printf(Locale.ROOT, "logits: max |dl4j - Gpt| = %.3e%n", diff);
    assertTrue(diff < 1e-6, "logits differ by " + diff);
    double loss = engine.loss(Batch.of(tokens), 4.0 * T);
    assertEquals(loss, net.score(ds), 1e-6, "DL4J's score is the mean token loss");

    // One step each from the same state. DL4J's Adam adds epsilon to sqrt(v) before the bias
    // correction, which at
    // step 1 is PyTorch's AdamW with epsilon / sqrt(1 - beta2): with that, the steps agree to float
    // rounding
    // (plain AdamW differs visibly only for elements whose gradient is near epsilon).
    AdamW.Hyper h =
        new AdamW.Hyper(
            tc.beta1(), tc.beta2(), tc.eps() / Math.sqrt(1 - tc.beta2()), tc.weightDecay());
    StepRunner runner = new StepRunner(CFG, T, h, tc.schedule(), tc.gradClip());
    AdamW.State opt = AdamW.State.zeros(params);
    double gradNorm =
        runner.run(params, opt, List.of(List.of(Batch.of(tokens))), tc.seed()).get(0).gradNorm();
    assertTrue(
        gradNorm > tc.gradClip() && tc.weightDecay() > 0,
        "the step must clip and decay: norm " + gradNorm);
    net.fit(ds);
    Map<String, INDArray> after = Dl4jGpt.params(net, CFG);
    AdamW.State dl4jOpt = Dl4jGpt.optimizer(net, CFG);
    assertEquals(1, dl4jOpt.step);
    double lr = tc.schedule().lr(0);
    // Both sides run the same engine on the same batch; they differ in float32 rounding only where
    // DL4J divides
    // by the minibatch size (gradient 1e-6 relative), so every element, those with gradients near
    // epsilon included,
    // lands within a few float ulps (|p| <= 0.1: ulp 7.5e-9; 7.5e-9 seen) of the other.
    double worstParam = 0;
    double worstM = 0;
    for (String name : params.keySet()) {
      worstParam = Math.max(worstParam, maxAbsDiff(after.get(name), params.get(name)));
      worstM =
          Math.max(
              worstM,
              maxAbsDiff(dl4jOpt.m.get(name), opt.m.get(name))
                  / (opt.m.get(name).amaxNumber().doubleValue() + 1e-12));
    }
    System.out.printf(
        Locale.ROOT,
        "one step: max |param diff| = %.3e (lr %.1e), max relative first-moment diff %.3e%n",
        worstParam,
        lr,
        worstM);
    assertTrue(worstParam < 2e-4 * lr, "parameters differ by " + worstParam + " after one step");
    assertTrue(worstM < 1e-4, "first moments differ by " + worstM);

    // The layer's engine trains DL4J's parameter array itself, not a copy: its next forward pass
    // sees the update.
    engine.load(after);
    INDArray afterLogits = engine.logits(Batch.of(tokens)).reshape(4L * T, CFG.vocabSize());
    assertTrue(
        maxAbsDiff(net.output(ds.getFeatures()), afterLogits) < 1e-6, "logits after the step");
    assertTrue(maxAbsDiff(afterLogits, expected) > 1e-4, "the step changed the logits");
  }
}
