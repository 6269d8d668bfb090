package io.sparkgpt.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.model.AdamW;
import io.sparkgpt.model.Batch;
import io.sparkgpt.model.Gpt;
import io.sparkgpt.model.GptConfig;
import io.sparkgpt.model.GptModel;
import io.sparkgpt.model.Head;
import io.sparkgpt.model.StepRunner;
import io.sparkgpt.model.Trainer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@code ppo}'s update by parameter averaging on the workers against the single-process update
 * (every step in order on one engine, what the driver used to run), on the same rollouts: one
 * worker gives its parameters and moments; two workers run on executors, every one of them
 * reporting, and move the policy the same way.
 */
class PpoUpdateTest {
  static final int EOT = 0;
  static final GptConfig CFG = new GptConfig(48, 32, 32, 2, 2, 4, 0.0, true, true, "float32");
  static SparkSession spark;
  static JavaSparkContext sc;
  static Map<String, INDArray> start;
  static List<Rollout> rollouts;

  @BeforeAll
  static void setUp() {
    spark = SparkRuntime.start("ppo update test", "local[2]", false, Map.of());
    sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    Trainer.applyThreads(1);
    start = GptModel.withNewHead(CFG, GptModel.initParams(CFG, 3), Head.VALUE, 5);
    rollouts = rollouts(config(1, 4), 10, new Random(11));
  }

  @AfterAll
  static void tearDown() {
    spark.stop();
  }

  static PpoConfig config(int workers, int miniBatch) {
    return new PpoConfig(
        1, 10, workers, 1, 8, 8, 1.0, 3, miniBatch, 3e-3, 1.0, 1.0, 0.95, 0.2, 0.2, 0.1, 0.01, 0.05,
        null, 10000, 7, 0, 0, false, false);
  }

  /**
   * Random prompts and responses, with the policy's own log-probabilities, values and entropies (as
   * a rollout task).
   */
  static List<Rollout> rollouts(PpoConfig pc, int n, Random r) {
    Gpt gpt = new Gpt(CFG, pc.seqLen(), PpoTrainer.updateSpec(CFG, pc).objective());
    gpt.load(start);
    int[][] tokens = new int[n][pc.seqLen() + 1];
    int[][] prompts = new int[n][];
    int[][] responses = new int[n][];
    for (int i = 0; i < n; i++) {
      prompts[i] = r.ints(2 + r.nextInt(pc.maxPromptTokens() - 1), 1, CFG.vocabSize()).toArray();
      responses[i] = r.ints(1 + r.nextInt(pc.maxNewTokens()), 0, CFG.vocabSize()).toArray();
      Arrays.fill(tokens[i], EOT);
      System.arraycopy(prompts[i], 0, tokens[i], 0, prompts[i].length);
      System.arraycopy(responses[i], 0, tokens[i], prompts[i].length, responses[i].length);
    }
    Gpt.PolicyOutputs po = gpt.policyOutputs(new Batch(tokens, null));
    List<Rollout> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int p = prompts[i].length;
      int len = responses[i].length;
      float[] logp = Arrays.copyOfRange(po.logp()[i], p - 1, p - 1 + len);
      float[] ref = logp.clone();
      for (int j = 0; j < len; j++) {
        ref[j] -= (float) (0.3 * r.nextDouble());
      }
      out.add(
          new Rollout(
              i,
              i % 2,
              prompts[i],
              responses[i],
              logp,
              ref,
              Arrays.copyOfRange(po.values()[i], p - 1, p - 1 + len),
              Arrays.copyOfRange(po.entropy()[i], p - 1, p - 1 + len),
              r.nextGaussian(),
              0,
              0));
    }
    return out;
  }

  static PpoTrainer.Averaged onWorkers(PpoConfig pc) throws Exception {
    PpoTrainer.Advantages adv = PpoTrainer.advantages(rollouts, 0.05, pc.gamma(), pc.lambda());
    Broadcast<TrainState> bc = sc.broadcast(TrainState.of(start, AdamW.State.zeros(start)));
    try {
      return PpoTrainer.averagedUpdate(
          sc, bc, new ObjectMapper().writeValueAsString(CFG), rollouts, adv, pc, 0, EOT);
    } finally {
      bc.destroy(false);
    }
  }

  @Test
  void oneWorkerGivesTheSingleProcessUpdate() throws Exception {
    PpoConfig pc = config(1, 4);
    Map<String, INDArray> params = copy(start);
    AdamW.State opt = AdamW.State.zeros(params);
    PpoTrainer.Advantages adv = PpoTrainer.advantages(rollouts, 0.05, pc.gamma(), pc.lambda());
    List<List<Integer>> steps = PpoTrainer.miniBatches(rollouts, pc, 0, 1);
    assertEquals(3 * 3, steps.size(), "3 epochs of 10 rollouts in mini-batches of 4");
    // the single-process update: every step in order on one engine
    StepRunner runner = PpoTrainer.updateSpec(CFG, pc).newRunner();
    double lossSum = 0;
    for (List<Integer> mb : steps) {
      lossSum +=
          runner
              .step(params, opt, List.of(PpoTrainer.batch(rollouts, adv, mb, pc.seqLen(), EOT)), 0)
              .loss();
    }

    PpoTrainer.Averaged workers = onWorkers(pc);
    assertEquals(1, workers.stats().workers());
    assertEquals(steps.size(), workers.state().step);
    Map<String, INDArray> p1 = workers.state().params();
    AdamW.State o1 = workers.state().optimizer();
    double moved = 0;
    for (String name : params.keySet()) {
      moved = Math.max(moved, params.get(name).sub(start.get(name)).amaxNumber().doubleValue());
      assertClose(params.get(name), p1.get(name), 2e-6, name);
      assertClose(opt.m.get(name), o1.m.get(name), 2e-6, "m " + name);
      assertClose(opt.v.get(name), o1.v.get(name), 2e-6, "v " + name);
    }
    assertTrue(moved > 1e-2, "the update moved the parameters: " + moved);
    assertEquals(lossSum / steps.size(), workers.stats().loss(), 1e-5);
    assertTrue(
        workers.stats().clipFraction() > 0 && workers.stats().clipFraction() < 1,
        "" + workers.stats());
  }

  /**
   * Two workers, each on half of every mini-batch: both report (the round's check), and the
   * averaged update moves the parameters in the direction of the single worker's and lowers the PPO
   * loss of the whole batch as much.
   */
  @Test
  void twoWorkersRunOnExecutorsAndMoveThePolicyAlike() throws Exception {
    PpoTrainer.Averaged one = onWorkers(config(1, 4));
    PpoTrainer.Averaged two = onWorkers(config(2, 4));
    assertEquals(2, two.stats().workers());
    assertEquals(9, two.state().step, "every worker took every step");
    assertTrue(two.stats().computeMs() > 0);
    double dot = 0, n1 = 0, n2 = 0;
    Map<String, INDArray> a = one.state().params();
    Map<String, INDArray> b = two.state().params();
    for (String name : start.keySet()) {
      INDArray d1 = a.get(name).sub(start.get(name));
      INDArray d2 = b.get(name).sub(start.get(name));
      dot += d1.mul(d2).sumNumber().doubleValue();
      n1 += d1.mul(d1).sumNumber().doubleValue();
      n2 += d2.mul(d2).sumNumber().doubleValue();
    }
    double cosine = dot / Math.sqrt(n1 * n2);
    double before = batchLoss(start);
    double after1 = batchLoss(a);
    double after2 = batchLoss(b);
    System.out.printf(
        "ppo update: cosine(1 worker, 2 workers) %.3f; PPO loss of the batch %.4f -> %.4f (1 worker), "
            + "%.4f (2 workers); clip fraction %.3f / %.3f%n",
        cosine, before, after1, after2, one.stats().clipFraction(), two.stats().clipFraction());
    assertTrue(cosine > 0.5, "cosine " + cosine);
    assertTrue(after1 < before && after2 < before, before + " -> " + after1 + ", " + after2);
    assertTrue(before - after2 > 0.5 * (before - after1), before + " -> " + after1 + ", " + after2);
  }

  @Test
  void aRoundWithoutEveryWorkerIsRefused() {
    List<Integer> work = List.of(0, 1);
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                ParameterAveragingTrainer.sumRound(
                    sc,
                    work,
                    it -> {
                      int w = it.next();
                      return w == 1
                          ? Collections.emptyIterator()
                          : List.of(
                                  RoundSum.ofWorker(w, "test", new float[][] {{1}}, null, null, 1))
                              .iterator();
                    },
                    3,
                    1,
                    "a lost worker"));
    assertTrue(e.getMessage().contains("expected one from each of 2 workers"), e.getMessage());
  }

  /** The PPO loss of every rollout in one batch (the objective at the rollouts' own old values). */
  static double batchLoss(Map<String, INDArray> params) {
    PpoConfig pc = config(1, 4);
    PpoTrainer.Advantages adv = PpoTrainer.advantages(rollouts, 0.05, pc.gamma(), pc.lambda());
    List<Integer> all = new ArrayList<>();
    for (int i = 0; i < rollouts.size(); i++) {
      all.add(i);
    }
    Batch batch = PpoTrainer.batch(rollouts, adv, all, pc.seqLen(), EOT);
    StepRunner runner = PpoTrainer.updateSpec(CFG, pc).newRunner();
    return runner.evaluate(params, List.of(batch));
  }

  static Map<String, INDArray> copy(Map<String, INDArray> p) {
    Map<String, INDArray> out = new java.util.LinkedHashMap<>();
    p.forEach((k, v) -> out.put(k, v.dup()));
    return out;
  }

  static void assertClose(INDArray expected, INDArray actual, double tol, String what) {
    double diff = expected.sub(actual).amaxNumber().doubleValue();
    double scale = Math.max(1, expected.amaxNumber().doubleValue());
    assertTrue(diff <= tol * scale, what + ": max difference " + diff);
  }
}
