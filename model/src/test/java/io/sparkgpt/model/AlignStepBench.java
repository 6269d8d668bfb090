package io.sparkgpt.model;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One side of {@code scripts/bench-align-steps.sh}: milliseconds per optimiser step of the
 * alignment objectives through {@link StepRunner} (the pairwise reward model and the PPO update),
 * on the sizes of the jobs module's alignment fixtures (vocabulary 512, block 128, d 64, 2 layers,
 * 2 heads): a reward step of 8 pairs (16 rows) of 128 tokens, a PPO step of a mini-batch of 8 rows
 * of 64 tokens with 16 response tokens each. It uses only API that the SameDiff-era StepRunner also
 * has, so the script can run it against an older build. Prints one line: {@code reward_ms=<median>
 * ppo_ms=<median>}.
 *
 * <pre>
 * java -cp model/target/test-classes:model/target/classes:$(cat model/target/cp.txt) io.sparkgpt.model.AlignStepBench [steps]
 * </pre>
 */
public final class AlignStepBench {
  private AlignStepBench() {}

  public static void main(String[] args) {
    int steps = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    Trainer.applyThreads(1);
    GptConfig cfg = new GptConfig(512, 128, 64, 2, 2, 4, 0.0, true, true, "float32");
    AdamW.Hyper hyper = new AdamW.Hyper(0.9, 0.95, 1e-8, 0.0);
    Random r = new Random(1);

    int t = 128;
    int[][] pairs = TestData.randomTokens(16, t, cfg.vocabSize(), 2);
    float[][] readAt = new float[16][t];
    for (float[] row : readAt) {
      row[t / 2 + r.nextInt(t / 2)] = 1;
    }
    double reward =
        median(cfg, t, hyper, Objective.pairwiseReward(), new Batch(pairs, readAt), steps);

    int p = 64;
    int[][] rows = TestData.randomTokens(8, p, cfg.vocabSize(), 3);
    float[][] mask = new float[8][p],
        oldLogp = new float[8][p],
        adv = new float[8][p],
        ret = new float[8][p],
        oldV = new float[8][p];
    for (int b = 0; b < 8; b++) {
      for (int j = 20; j < 36; j++) {
        mask[b][j] = 1;
        oldLogp[b][j] = (float) (-Math.log(cfg.vocabSize()) + 0.1 * r.nextGaussian());
        adv[b][j] = (float) r.nextGaussian();
        ret[b][j] = (float) r.nextGaussian();
        oldV[b][j] = (float) (0.1 * r.nextGaussian());
      }
    }
    Batch ppoBatch = new Batch(rows, mask, new Batch.PpoTargets(oldLogp, adv, ret, oldV));
    double ppo = median(cfg, p, hyper, Objective.ppo(0.2, 0.2, 0.5, 0.01), ppoBatch, steps);
    System.out.printf(Locale.ROOT, "reward_ms=%.2f ppo_ms=%.2f%n", reward, ppo);
  }

  /** Median step time after one warm-up step. */
  private static double median(
      GptConfig cfg, int t, AdamW.Hyper hyper, Objective objective, Batch batch, int steps) {
    StepRunner runner = new StepRunner(cfg, t, hyper, LrSchedule.constant(1e-3), 1.0, objective);
    Map<String, INDArray> params =
        GptModel.withNewHead(cfg, GptModel.initParams(cfg, 1), objective.head(), 2);
    AdamW.State opt = AdamW.State.zeros(params);
    params = runner.own(params);
    opt = runner.own(opt);
    double[] ms = new double[steps];
    runner.step(params, opt, List.of(batch), 0);
    for (int s = 0; s < steps; s++) {
      ms[s] = runner.step(params, opt, List.of(batch), 0).millis();
    }
    Arrays.sort(ms);
    return ms[steps / 2];
  }
}
