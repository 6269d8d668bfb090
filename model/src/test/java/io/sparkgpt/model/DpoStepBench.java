package io.sparkgpt.model;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.IntFunction;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@code scripts/bench-dpo-step.sh}: milliseconds per optimiser step of DPO against SFT on the same
 * batch, each through {@link StepRunner} in this JVM, 1 thread. The batch: 8 preference pairs (16
 * rows) of {@code T} tokens, prompts of T/4 tokens masked out. The SFT step trains on the 16 rows
 * as completions; the DPO step first runs the frozen reference's forward pass ({@link
 * Gpt#sequenceLogProbs}) on them, as {@code dpo}'s workers do for every batch, then the policy's
 * forward and backward: the SFT step plus one forward pass (target: at most 2.2x SFT's). Sizes: the
 * jobs module's alignment fixture (vocabulary 512, T 128, d 64, 2 layers) and {@code tiny} with a
 * 2,048-token vocabulary (T 128, d 128, 4 layers); the two steps alternate. Prints a markdown
 * table.
 *
 * <pre>
 * java -cp model/target/test-classes:model/target/classes:$(cat model/target/cp.txt) io.sparkgpt.model.DpoStepBench [steps]
 * </pre>
 */
public final class DpoStepBench {
  private DpoStepBench() {}

  public static void main(String[] args) {
    int steps = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    Trainer.applyThreads(1);
    System.out.printf(
        Locale.ROOT,
        "ms per optimiser step, median of %d after a warm-up step, 1 thread, 8 pairs%n%n",
        steps);
    System.out.println(
        "| model | rows x T | SFT ms/step | DPO ms/step (reference fwd + policy step) | DPO / SFT |");
    System.out.println("|---|---|---|---|---|");
    row(
        "fixture d64 L2 V512",
        new GptConfig(512, 128, 64, 2, 2, 4, 0.0, true, true, "float32"),
        steps);
    row("tiny d128 L4 V2048", GptConfig.preset("tiny", 2048), steps);
  }

  private static void row(String name, GptConfig cfg, int steps) {
    int t = cfg.blockSize(), rows = 16;
    int[][] tokens = TestData.randomTokens(rows, t, cfg.vocabSize(), 5);
    float[][] mask = new float[rows][t];
    Random r = new Random(6);
    for (float[] m : mask) {
      Arrays.fill(m, t / 4 - 1, t - r.nextInt(t / 4), 1f);
    }
    Batch batch = new Batch(tokens, mask);
    AdamW.Hyper hyper = new AdamW.Hyper(0.9, 0.95, 1e-8, 0.0);
    Map<String, INDArray> init = GptModel.initParams(cfg, 1);

    StepRunner sft = new StepRunner(cfg, t, hyper, LrSchedule.constant(1e-4), 1.0, Objective.lm());
    StepRunner dpo =
        new StepRunner(cfg, t, hyper, LrSchedule.constant(1e-4), 1.0, Objective.dpo(0.1));
    Gpt reference = new Gpt(cfg, t);
    reference.load(init);
    Timed sftSteps = new Timed(sft, init, s -> batch);
    Timed dpoSteps =
        new Timed(dpo, init, s -> batch.withReferenceLogps(reference.sequenceLogProbs(batch)));
    // alternating, so that a change in the machine's load falls on both
    for (int s = -1; s < steps; s++) {
      sftSteps.step(s);
      dpoSteps.step(s);
    }
    double sftMs = sftSteps.median(), dpoMs = dpoSteps.median();
    System.out.printf(
        Locale.ROOT,
        "| %s | %d x %d | %.1f | %.1f | %.2fx |%n",
        name,
        rows,
        t,
        sftMs,
        dpoMs,
        dpoMs / sftMs);
  }

  /**
   * Steps of one runner, each timed with its batch preparation ({@code prepare}); step -1 is the
   * warm-up.
   */
  private static final class Timed {
    private final StepRunner runner;
    private final Map<String, INDArray> params;
    private final AdamW.State opt;
    private final IntFunction<Batch> prepare;
    private final List<Double> ms = new java.util.ArrayList<>();

    Timed(StepRunner runner, Map<String, INDArray> init, IntFunction<Batch> prepare) {
      this.runner = runner;
      this.params = runner.own(init);
      this.opt = runner.own(AdamW.State.zeros(params));
      this.prepare = prepare;
    }

    void step(int s) {
      long t0 = System.nanoTime();
      runner.step(params, opt, List.of(prepare.apply(s)), 0);
      if (s >= 0) {
        ms.add((System.nanoTime() - t0) / 1e6);
      }
    }

    double median() {
      double[] sorted = ms.stream().mapToDouble(Double::doubleValue).sorted().toArray();
      return sorted[sorted.length / 2];
    }
  }
}
