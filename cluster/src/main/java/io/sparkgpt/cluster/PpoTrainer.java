package io.sparkgpt.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgpt.model.AdamW;
import io.sparkgpt.model.Batch;
import io.sparkgpt.model.Checkpoint;
import io.sparkgpt.model.Generator;
import io.sparkgpt.model.Gpt;
import io.sparkgpt.model.GptConfig;
import io.sparkgpt.model.GptModel;
import io.sparkgpt.model.Head;
import io.sparkgpt.model.LrSchedule;
import io.sparkgpt.model.Objective;
import io.sparkgpt.model.StepRunner;
import io.sparkgpt.model.Trainer;
import io.sparkgpt.model.TrainingRun;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import io.sparkgpt.tokenizer.dataset.SampleReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * RLHF with PPO ({@code sparkgpt ppo}), after Ziegler et al. (2019) and Ouyang et al. (2022).
 *
 * <h2>An iteration</h2>
 *
 * <ol>
 *   <li><b>Rollouts on the executors.</b> The driver broadcasts the policy's parameters; the
 *       iteration's prompts (the next {@code promptsPerIteration} of a seeded epoch order over the
 *       prompt file) are split over N Spark tasks. Each task samples a response per prompt with the
 *       KV-cache {@link Generator} (temperature, up to {@code maxNewTokens}, end-of-text kept),
 *       then in one batched forward pass each computes the policy's log-probabilities, values and
 *       entropies of the response tokens, the frozen reference policy's log-probabilities (the SFT
 *       model, broadcast once) and the score ({@link RolloutReward}: the reward model, also
 *       broadcast once, or a rule).
 *   <li><b>Rewards and advantages on the driver.</b> Per response token {@code j}: {@code r_j =
 *       -beta (logp_j - ref_j)}, plus the score at the last token. GAE: {@code delta_j = r_j +
 *       gamma V_{j+1} - V_j} ({@code V} after the last token is 0), {@code A_j = delta_j + gamma
 *       lambda A_{j+1}}, returns {@code A_j + V_j}; advantages are whitened over the iteration's
 *       tokens.
 *   <li><b>Update by parameter averaging on the workers</b>: {@code ppoEpochs} passes over the
 *       rollouts in shuffled mini-batches, one AdamW step each on the {@link Objective.Kind#PPO}
 *       loss (clipped policy loss, clipped value loss, entropy bonus). Every mini-batch is split
 *       over the N workers (worker {@code w} takes its elements {@code j mod N = w}, as {@code
 *       pretrain}'s step s uses the samples of one worker with batch N x B), each worker runs all
 *       the steps on its shares from the broadcast parameters and AdamW moments, and the driver
 *       averages parameters and moments with {@link ParameterAveragingTrainer}'s round ({@link
 *       ParameterAveragingTrainer#sumRound}: the same every-worker check). With one worker this is
 *       exactly the single-process update (all the steps in order on one engine).
 *   <li><b>KL coefficient</b>: fixed, or adaptive (Ziegler et al.): {@code beta *= 1 + clip(KL /
 *       target - 1, -0.2, 0.2) * responses / horizon}.
 * </ol>
 *
 * <h2>Run folder</h2>
 *
 * {@code metrics.jsonl} (one line per iteration: {@code iteration}, {@code reward} (mean score),
 * {@code kl} (mean per-response KL to the reference), {@code kl_coef}, {@code entropy} (mean per
 * token), {@code clip_fraction}, {@code approx_kl} (policy change in the update), {@code loss},
 * {@code response_tokens}, the time split {@code rollout_ms}, {@code generation_ms}, {@code
 * scoring_ms}, {@code update_ms} (of which {@code update_compute_ms} is the slowest worker's steps,
 * the rest broadcast, scheduling and averaging), {@code generation_tokens_per_s}, and {@code
 * update_workers}), {@code samples.jsonl} (per iteration some prompts, responses and scores),
 * {@code checkpoint/} (the policy with its value head, AdamW state, iteration and KL coefficient).
 * A run resumes from {@code checkpoint/}.
 */
public final class PpoTrainer {
  public static final String SAMPLES = "samples.jsonl";
  private static final ObjectMapper JSON = new ObjectMapper();

  private PpoTrainer() {}

  /** Per iteration figures. */
  public record IterationStats(
      int iteration,
      double reward,
      double kl,
      double klCoef,
      double entropy,
      double clipFraction,
      double approxKl,
      double loss,
      long responseTokens,
      double rolloutMs,
      double generationMs,
      double scoringMs,
      double updateMs,
      double updateComputeMs,
      int updateWorkers,
      double generationTokensPerS) {}

  public record Result(
      int firstIteration, int lastIteration, List<IterationStats> iterations, Path checkpoint) {}

  /**
   * @param policy the SFT checkpoint: the starting policy (a value head is added) and the frozen
   *     reference
   * @param reward how responses are scored; a reward model's weights must have been broadcast on
   *     {@code sc}
   * @param prompts template-wrapped prompt token ids, at most {@code maxPromptTokens} each
   * @param promptText the prompts' text, for samples.jsonl
   */
  public static Result train(
      JavaSparkContext sc,
      PpoConfig pc,
      Checkpoint policy,
      RolloutReward reward,
      List<int[]> prompts,
      List<String> promptText,
      Path runDir,
      Consumer<String> log)
      throws IOException {
    GptConfig cfg = policy.config();
    int seqLen = pc.seqLen();
    if (seqLen > cfg.blockSize()) {
      throw new IllegalArgumentException(
          "max prompt tokens + max new tokens + 1 = "
              + seqLen
              + " exceeds the policy's block size "
              + cfg.blockSize());
    }
    Trainer.applyThreads(pc.threadsPerTask());
    Files.createDirectories(runDir);
    Path ckptDir = runDir.resolve(Trainer.CHECKPOINT);
    Path tokFile = Checkpoint.tokenizerFile(policy.dir());
    int eot;
    try (Tokenizer tok = Tokenizers.load(tokFile.toString())) {
      eot = tok.endOfTextId();
    }
    Map<String, INDArray> reference = policy.backbone();

    // Start or resume.
    Map<String, INDArray> params = null;
    AdamW.State opt = null;
    int iteration = 0;
    double klCoef = pc.klCoef();
    Checkpoint ck = pc.resume() ? Checkpoint.newest(runDir, log) : null;
    List<String> changes = List.of();
    if (ck != null) {
      if (!ck.config().equals(cfg) || ck.head() != Head.VALUE || ck.trainingState() == null) {
        throw new IllegalArgumentException(
            ck.dir()
                + " is not a PPO checkpoint of this policy (use another run "
                + "folder or --no-resume)");
      }
      params = ck.params();
      opt = ck.optimizer();
      iteration = (int) ck.trainingState().step();
      Object beta = ck.trainingState().trainConfig().get("kl_coef");
      klCoef = beta instanceof Number nb ? nb.doubleValue() : klCoef;
      changes = resumeChanges(ck, pc);
      log.accept(
          String.format(
              Locale.ROOT,
              "resuming from %s at iteration %d (KL coefficient %.4g)",
              ck.dir(),
              iteration,
              klCoef));
    }
    if (params == null) {
      params = GptModel.withNewHead(cfg, policy.backbone(), Head.VALUE, pc.seed());
      opt = AdamW.State.zeros(params);
    }
    final int firstIteration = iteration;
    log.accept(
        String.format(
            Locale.ROOT,
            "ppo: policy %s, %d prompts, %d per iteration over %d workers, up to %d new "
                + "tokens, %d PPO epochs x mini-batch %d %s, lr %.2g, KL coefficient %.4g (%s), iterations %d..%d",
            cfg,
            prompts.size(),
            pc.promptsPerIteration(),
            pc.workers(),
            pc.maxNewTokens(),
            pc.ppoEpochs(),
            pc.miniBatch(),
            "averaged over " + workers(pc.workers()),
            pc.lr(),
            klCoef,
            pc.klTarget() == null ? "fixed" : "adaptive, target " + pc.klTarget(),
            iteration,
            pc.iterations()));

    Path samplesFile = runDir.resolve(SAMPLES);
    TrainingRun.keepUpTo(samplesFile, "iteration", iteration);
    Broadcast<TrainState> refBc =
        sc.broadcast(TrainState.weights(GptModel.withNewHead(cfg, reference, Head.VALUE, 0)));
    try (TrainingRun run = TrainingRun.open(runDir, "iteration", iteration, 0, changes, log);
        BufferedWriter samples =
            Files.newBufferedWriter(
                samplesFile,
                StandardCharsets.UTF_8,
                StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        Tokenizer tok = Tokenizers.load(tokFile.toString())) {
      Iterations its =
          new Iterations(
              sc,
              pc,
              cfg,
              reward,
              prompts,
              promptText,
              eot,
              tok,
              tokFile,
              refBc,
              samples,
              params,
              opt,
              iteration,
              klCoef);
      run.loop(
          its,
          new TrainingRun.Cadence(iteration, pc.iterations(), 0, pc.checkpointEvery(), null),
          null);
      return new Result(firstIteration, its.iteration, its.stats, ckptDir);
    } finally {
      refBc.destroy(false);
    }
  }

  /**
   * The PPO engine: one iteration (rollouts, advantages, the averaged update) per unit; no
   * validation, no plot.
   */
  private static final class Iterations implements TrainingRun.Engine {
    private final JavaSparkContext sc;
    private final PpoConfig pc;
    private final GptConfig cfg;
    private final RolloutReward reward;
    private final List<int[]> prompts;
    private final List<String> promptText;
    private final int eot;
    private final Tokenizer tok;
    private final Path tokFile;
    private final Broadcast<TrainState> refBc;
    private final BufferedWriter samples;
    private final String cfgJson;
    private final List<IterationStats> stats = new ArrayList<>();
    private Map<String, INDArray> params;
    private AdamW.State opt;
    private int iteration;
    private double klCoef;

    Iterations(
        JavaSparkContext sc,
        PpoConfig pc,
        GptConfig cfg,
        RolloutReward reward,
        List<int[]> prompts,
        List<String> promptText,
        int eot,
        Tokenizer tok,
        Path tokFile,
        Broadcast<TrainState> refBc,
        BufferedWriter samples,
        Map<String, INDArray> params,
        AdamW.State opt,
        int iteration,
        double klCoef)
        throws IOException {
      this.sc = sc;
      this.pc = pc;
      this.cfg = cfg;
      this.reward = reward;
      this.prompts = prompts;
      this.promptText = promptText;
      this.eot = eot;
      this.tok = tok;
      this.tokFile = tokFile;
      this.refBc = refBc;
      this.samples = samples;
      this.params = params;
      this.opt = opt;
      this.iteration = iteration;
      this.klCoef = klCoef;
      this.cfgJson = JSON.writeValueAsString(cfg);
    }

    @Override
    public TrainingRun.Unit advance() throws IOException {
      long t0 = System.nanoTime();
      // 1. rollouts on the executors
      int[] picked = promptsOf(iteration, pc, prompts.size());
      List<PromptSlice> tasks = new ArrayList<>();
      for (int w = 0; w < pc.workers(); w++) {
        int first = w; // worker w takes every N-th prompt of the iteration
        int[] idx =
            java.util.stream.IntStream.range(0, picked.length)
                .filter(i -> i % pc.workers() == first)
                .map(i -> picked[i])
                .toArray();
        tasks.add(
            new PromptSlice(
                w, idx, Arrays.stream(idx).mapToObj(prompts::get).toArray(int[][]::new)));
      }
      // the update on the workers starts from the same broadcast, with the moments
      Broadcast<TrainState> policyBc = sc.broadcast(TrainState.of(params, opt));
      sc.setJobDescription(String.format(Locale.ROOT, "ppo rollouts, iteration %d", iteration + 1));
      RolloutTask task = new RolloutTask(cfgJson, pc, iteration, eot, policyBc, refBc, reward);
      List<Rollout> rollouts =
          new ArrayList<>(sc.parallelize(tasks, pc.workers()).mapPartitions(task).collect());
      rollouts.sort(Comparator.comparingInt(Rollout::index));
      long t1 = System.nanoTime();

      // 2. rewards, advantages
      Advantages adv = advantages(rollouts, klCoef, pc.gamma(), pc.lambda());
      // 3. update
      Averaged a = averagedUpdate(sc, policyBc, cfgJson, rollouts, adv, pc, iteration, eot);
      policyBc.destroy(false);
      params = a.state().params();
      opt = a.state().optimizer();
      UpdateStats u = a.stats();
      long t2 = System.nanoTime();

      double meanScore = rollouts.stream().mapToDouble(Rollout::score).average().orElse(0);
      double meanKl = rollouts.stream().mapToDouble(Rollout::kl).average().orElse(0);
      long tokens = rollouts.stream().mapToLong(r -> r.response().length).sum();
      double entropy =
          rollouts.stream().flatMapToDouble(r -> floats(r.entropy())).average().orElse(0);
      // per worker sums; the slowest worker sets the pace
      double[] genMs = new double[pc.workers()];
      double[] scoreMs = new double[pc.workers()];
      for (Rollout r : rollouts) {
        genMs[r.worker()] += r.genMs();
        scoreMs[r.worker()] += r.scoreMs();
      }
      double genMax = Arrays.stream(genMs).max().orElse(0);
      double scoringMs = Arrays.stream(scoreMs).max().orElse(0);
      double rolloutMs = (t1 - t0) / 1e6;
      double klCoefUsed = klCoef;
      if (pc.klTarget() != null) {
        double error = Math.max(-0.2, Math.min(0.2, meanKl / pc.klTarget() - 1));
        klCoef *= 1 + error * rollouts.size() / pc.klHorizon();
      }
      iteration++;
      IterationStats s =
          new IterationStats(
              iteration,
              meanScore,
              meanKl,
              klCoefUsed,
              entropy,
              u.clipFraction(),
              u.approxKl(),
              u.loss(),
              tokens,
              rolloutMs,
              genMax,
              scoringMs,
              (t2 - t1) / 1e6,
              u.computeMs(),
              u.workers(),
              genMax > 0 ? tokens / (genMax / 1000) : 0);
      stats.add(s);
      writeSamples(samples, iteration, rollouts, promptText, tok, pc.samplesPerIteration());
      String line =
          String.format(
              Locale.ROOT,
              "iteration %d/%d | reward %.4f | KL %.4f (coef %.4g) | entropy %.3f | "
                  + "clip fraction %.3f | %d response tokens | rollout %.0f ms (generation %.0f ms, %.0f tok/s; scoring "
                  + "%.0f ms) | update %.0f ms (%s: steps %.0f, averaging+overhead %.0f)",
              iteration,
              pc.iterations(),
              meanScore,
              meanKl,
              klCoefUsed,
              entropy,
              u.clipFraction(),
              tokens,
              rolloutMs,
              genMax,
              s.generationTokensPerS(),
              scoringMs,
              s.updateMs(),
              workers(u.workers()),
              u.computeMs(),
              Math.max(0, s.updateMs() - u.computeMs()));
      // no ETA: an iteration's length depends on the responses
      return new TrainingRun.Unit(iteration, iteration, 0, metrics(s), null, eta -> line);
    }

    @Override
    public TrainingRun.Snapshot snapshot(TrainingRun.Unit unit, Double lastValLoss) {
      Map<String, Object> extra = new LinkedHashMap<>();
      extra.put("kl_coef", klCoef);
      extra.put("ppo", JSON.convertValue(pc, Map.class));
      long promptsSeen = (long) iteration * pc.promptsPerIteration();
      Checkpoint.TrainingState ts =
          new Checkpoint.TrainingState(
              iteration,
              pc.lr(),
              promptsSeen,
              0,
              promptsSeen / prompts.size(),
              pc.seed(),
              pc.seed(),
              null,
              extra);
      return new TrainingRun.Snapshot(cfg, Head.VALUE, params, opt, ts, tokFile);
    }
  }

  private static String workers(int n) {
    return n + (n == 1 ? " worker" : " workers");
  }

  /** Settings a resumed PPO run may change freely: its length and how it is run and logged. */
  private static final java.util.Set<String> MAY_CHANGE_ON_RESUME =
      java.util.Set.of(
          "iterations",
          "workers",
          "threadsPerTask",
          "samplesPerIteration",
          "checkpointEvery",
          "resume",
          "allowConfigChange");

  /**
   * The PPO settings that differ from the checkpoint's; refused (one line listing them) unless
   * {@link PpoConfig#allowConfigChange}.
   */
  @SuppressWarnings("unchecked")
  static List<String> resumeChanges(Checkpoint from, PpoConfig now) {
    Object stored = from.trainingState().trainConfig().get("ppo");
    if (!(stored instanceof Map<?, ?>)) {
      return List.of(); // an older checkpoint without its settings
    }
    Map<String, Object> before = new LinkedHashMap<>((Map<String, Object>) stored);
    Map<String, Object> after = new LinkedHashMap<>(JSON.convertValue(now, Map.class));
    before.keySet().removeAll(MAY_CHANGE_ON_RESUME);
    after.keySet().removeAll(MAY_CHANGE_ON_RESUME);
    return TrainingRun.resumeChanges(from, before, after, now.allowConfigChange());
  }

  private static java.util.stream.DoubleStream floats(float[] a) {
    return java.util.stream.IntStream.range(0, a.length).mapToDouble(i -> a[i]);
  }

  /** The prompt indexes of an iteration: positions [it*P, (it+1)*P) of the seeded epoch orders. */
  static int[] promptsOf(int iteration, PpoConfig pc, int n) {
    int p = pc.promptsPerIteration();
    int[] out = new int[p];
    long epoch = -1;
    int[] perm = null;
    for (int i = 0; i < p; i++) {
      long pos = (long) iteration * p + i;
      if (pos / n != epoch) {
        epoch = pos / n;
        perm = SampleReader.permutation(n, epoch, pc.seed());
      }
      out[i] = perm[(int) (pos % n)];
    }
    return out;
  }

  /** The prompts one task rolls out (a class: Spark's Kryo serializer cannot build records). */
  static final class PromptSlice implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    final int worker;
    final int[] indexes;
    final int[][] prompts;

    PromptSlice(int worker, int[] indexes, int[][] prompts) {
      this.worker = worker;
      this.indexes = indexes;
      this.prompts = prompts;
    }
  }

  /** Per-token advantages and returns, aligned with each rollout's response tokens. */
  record Advantages(float[][] advantages, float[][] returns) {}

  /** KL-penalised per-token rewards, GAE, whitening (see the class comment). */
  static Advantages advantages(List<Rollout> rollouts, double klCoef, double gamma, double lambda) {
    int n = rollouts.size();
    float[][] adv = new float[n][];
    float[][] ret = new float[n][];
    double sum = 0, sq = 0;
    long count = 0;
    for (int i = 0; i < n; i++) {
      Rollout r = rollouts.get(i);
      int len = r.response().length;
      adv[i] = new float[len];
      ret[i] = new float[len];
      double next = 0;
      double gae = 0;
      for (int j = len - 1; j >= 0; j--) {
        double reward = -klCoef * (r.logp()[j] - r.refLogp()[j]) + (j == len - 1 ? r.score() : 0);
        double delta = reward + gamma * next - r.values()[j];
        gae = delta + gamma * lambda * gae;
        adv[i][j] = (float) gae;
        ret[i][j] = (float) (gae + r.values()[j]);
        next = r.values()[j];
        sum += gae;
        sq += gae * gae;
        count++;
      }
    }
    double mean = count == 0 ? 0 : sum / count;
    double std = count < 2 ? 1 : Math.sqrt(Math.max(0, sq / count - mean * mean));
    for (float[] a : adv) {
      for (int j = 0; j < a.length; j++) {
        a[j] = (float) ((a[j] - mean) / (std + 1e-8));
      }
    }
    return new Advantages(adv, ret);
  }

  /**
   * What an update did: mean step loss, clip fraction, approximate KL, the slowest worker's steps
   * (ms), workers.
   */
  record UpdateStats(
      double loss, double clipFraction, double approxKl, double computeMs, int workers) {}

  /**
   * The update's runner: AdamW without weight decay at a constant learning rate, on the PPO
   * objective.
   */
  static ParameterAveragingTrainer.RunnerCache.Spec updateSpec(GptConfig cfg, PpoConfig pc) {
    return new ParameterAveragingTrainer.RunnerCache.Spec(
        cfg,
        pc.seqLen(),
        new AdamW.Hyper(0.9, 0.95, 1e-8, 0.0),
        LrSchedule.constant(pc.lr()),
        pc.gradClip(),
        Objective.ppo(pc.clipRange(), pc.valueClip(), pc.valueCoef(), pc.entropyCoef()));
  }

  /**
   * The update's optimizer steps, as rollout indexes: {@code ppoEpochs} passes over the rollouts
   * that have a response, each in a seeded shuffled order cut into mini-batches. For {@code n}
   * workers a mini-batch smaller than {@code n} (an epoch's tail) is filled up from the start of
   * its epoch's order, so that every worker has a share of every step (with {@code n = 1} nothing
   * is added).
   */
  static List<List<Integer>> miniBatches(
      List<Rollout> rollouts, PpoConfig pc, int iteration, int n) {
    Random rng = new Random(pc.seed() * 31 + iteration);
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < rollouts.size(); i++) {
      if (rollouts.get(i).response().length > 0) {
        order.add(i);
      }
    }
    List<List<Integer>> out = new ArrayList<>();
    for (int e = 0; e < pc.ppoEpochs() && !order.isEmpty(); e++) {
      java.util.Collections.shuffle(order, rng);
      for (int from = 0; from < order.size(); from += pc.miniBatch()) {
        List<Integer> mb =
            new ArrayList<>(order.subList(from, Math.min(order.size(), from + pc.miniBatch())));
        for (int j = 0; mb.size() < n; j++) {
          mb.add(order.get(j % order.size()));
        }
        out.add(mb);
      }
    }
    return out;
  }

  /**
   * The optimizer steps on {@code runner}'s engine, one per mini-batch; updates params and opt
   * (copied into the engine once, back out at the end). Returns the sums of step losses, clipped
   * ratios, -log ratios and response tokens.
   */
  private static double[] runSteps(
      StepRunner runner,
      Map<String, INDArray> params,
      AdamW.State opt,
      List<Rollout> rollouts,
      Advantages adv,
      List<List<Integer>> steps,
      PpoConfig pc,
      int seqLen,
      int eot) {
    Map<String, INDArray> p = runner.own(params);
    AdamW.State o = runner.own(opt);
    double lossSum = 0, clipped = 0, approxKl = 0, tokens = 0;
    for (List<Integer> mb : steps) {
      Batch batch = batch(rollouts, adv, mb, seqLen, eot);
      lossSum += runner.step(p, o, List.of(batch), 0).loss();
      double[] ratio = runner.engine().ratios().toDoubleVector();
      float[][] mask = batch.mask();
      for (int b = 0; b < mask.length; b++) {
        for (int t = 0; t < seqLen; t++) {
          if (mask[b][t] > 0) {
            double q = ratio[b * seqLen + t];
            clipped += Math.abs(q - 1) > pc.clipRange() ? 1 : 0;
            approxKl += -Math.log(q);
            tokens++;
          }
        }
      }
    }
    runner.giveBack(params, opt);
    return new double[] {lossSum, clipped, approxKl, tokens};
  }

  record Averaged(TrainState state, UpdateStats stats) {}

  /**
   * The update by parameter averaging: worker {@code w} runs every step of {@link #miniBatches} on
   * its share of the mini-batch (elements {@code j mod N = w}) from the broadcast parameters and
   * moments ({@code policy}, which the rollouts used); the driver checks that every worker reported
   * and averages (see the class comment).
   */
  static Averaged averagedUpdate(
      JavaSparkContext sc,
      Broadcast<TrainState> policy,
      String cfgJson,
      List<Rollout> rollouts,
      Advantages adv,
      PpoConfig pc,
      int iteration,
      int eot) {
    int n = pc.workers();
    List<List<Integer>> steps = miniBatches(rollouts, pc, iteration, n);
    List<UpdateShare> shares = new ArrayList<>();
    for (int w = 0; w < n; w++) {
      shares.add(UpdateShare.of(w, n, steps, rollouts, adv));
    }
    TrainState start = policy.value();
    RoundSum sum =
        ParameterAveragingTrainer.sumRound(
            sc,
            shares,
            new UpdateTask(cfgJson, pc, eot, policy),
            iteration + 1,
            start.step + steps.size(),
            String.format(
                Locale.ROOT,
                "ppo update, iteration %d (%d steps on %d workers)",
                iteration + 1,
                steps.size(),
                n));
    double[] st = sum.statSums;
    double lossMean =
        steps.isEmpty()
            ? 0
            : java.util.stream.DoubleStream.of(sum.lossSum).sum() / n / steps.size();
    return new Averaged(
        ParameterAveragingTrainer.averaged(start, sum),
        new UpdateStats(
            lossMean,
            st[3] == 0 ? 0 : st[1] / st[3],
            st[3] == 0 ? 0 : st[2] / st[3],
            sum.computeMsMax,
            n));
  }

  /**
   * One worker's share of the update: its rollouts (with their advantages and returns) and, per
   * step, their positions in it (a class: Spark's Kryo serializer cannot build records).
   */
  static final class UpdateShare implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    final int worker;
    final List<Rollout> rollouts;
    final float[][] advantages;
    final float[][] returns;
    final int[][] steps;

    private UpdateShare(
        int worker,
        List<Rollout> rollouts,
        float[][] advantages,
        float[][] returns,
        int[][] steps) {
      this.worker = worker;
      this.rollouts = rollouts;
      this.advantages = advantages;
      this.returns = returns;
      this.steps = steps;
    }

    static UpdateShare of(
        int w, int n, List<List<Integer>> steps, List<Rollout> rollouts, Advantages adv) {
      Map<Integer, Integer> local = new LinkedHashMap<>();
      int[][] mine = new int[steps.size()][];
      for (int s = 0; s < steps.size(); s++) {
        List<Integer> mb = steps.get(s);
        List<Integer> pick = new ArrayList<>();
        for (int j = w; j < mb.size(); j += n) {
          pick.add(local.computeIfAbsent(mb.get(j), i -> local.size()));
        }
        mine[s] = pick.stream().mapToInt(Integer::intValue).toArray();
      }
      List<Rollout> rs = new ArrayList<>();
      float[][] a = new float[local.size()][];
      float[][] r = new float[local.size()][];
      for (Map.Entry<Integer, Integer> e : local.entrySet()) {
        rs.add(rollouts.get(e.getKey()));
        a[e.getValue()] = adv.advantages()[e.getKey()];
        r[e.getValue()] = adv.returns()[e.getKey()];
      }
      return new UpdateShare(w, rs, a, r, mine);
    }
  }

  /** A worker's update steps: the function Spark runs per partition. */
  record UpdateTask(String cfgJson, PpoConfig pc, int eot, Broadcast<TrainState> policy)
      implements FlatMapFunction<Iterator<UpdateShare>, RoundSum> {
    private static final long serialVersionUID = 1L;

    @Override
    public Iterator<RoundSum> call(Iterator<UpdateShare> it) throws IOException {
      ParameterAveragingTrainer.RunnerCache.Spec spec =
          updateSpec(JSON.readValue(cfgJson, GptConfig.class), pc);
      List<RoundSum> out = new ArrayList<>();
      while (it.hasNext()) {
        UpdateShare share = it.next();
        String placement = Devices.bindTask();
        Trainer.applyThreads(pc.threadsPerTask());
        long t0 = System.nanoTime();
        TrainState start = policy.value();
        Map<String, INDArray> params = start.params();
        AdamW.State opt = start.optimizer();
        List<List<Integer>> steps = new ArrayList<>();
        for (int[] s : share.steps) {
          steps.add(Arrays.stream(s).boxed().toList());
        }
        long t1 = System.nanoTime();
        StepRunner runner = ParameterAveragingTrainer.RunnerCache.borrow(spec);
        double[] sums;
        try {
          sums =
              runSteps(
                  runner,
                  params,
                  opt,
                  share.rollouts,
                  new Advantages(share.advantages, share.returns),
                  steps,
                  pc,
                  spec.seqLen(),
                  eot);
        } finally {
          ParameterAveragingTrainer.RunnerCache.giveBack(spec, runner);
        }
        long t2 = System.nanoTime();
        TrainState end = TrainState.of(params, opt);
        RoundSum r = RoundSum.ofWorker(share.worker, placement, end.params, end.m, end.v, opt.step);
        r.lossSum = new double[] {sums[0]};
        r.gradNormSum = new double[1];
        r.lr = new double[] {pc.lr()};
        r.statSums = sums;
        r.tokens = (long) sums[3];
        r.computeMsMax = r.computeMsSum = (t2 - t1) / 1e6;
        r.dataMsMax = r.dataMsSum = ((t1 - t0) + (System.nanoTime() - t2)) / 1e6;
        out.add(r);
      }
      return out.iterator();
    }
  }

  /**
   * Rows prompt + response padded with end-of-text; mask, old log-probs, advantages... on the
   * response tokens.
   */
  static Batch batch(
      List<Rollout> rollouts, Advantages adv, List<Integer> which, int seqLen, int eot) {
    int b = which.size();
    int[][] tokens = new int[b][seqLen + 1];
    float[][] mask = new float[b][seqLen];
    float[][] oldLogp = new float[b][seqLen];
    float[][] a = new float[b][seqLen];
    float[][] ret = new float[b][seqLen];
    float[][] oldV = new float[b][seqLen];
    for (int k = 0; k < b; k++) {
      int i = which.get(k);
      Rollout r = rollouts.get(i);
      Arrays.fill(tokens[k], eot);
      System.arraycopy(r.prompt(), 0, tokens[k], 0, r.prompt().length);
      System.arraycopy(r.response(), 0, tokens[k], r.prompt().length, r.response().length);
      for (int j = 0; j < r.response().length; j++) {
        int t = r.prompt().length - 1 + j; // input t predicts response token j
        mask[k][t] = 1;
        oldLogp[k][t] = r.logp()[j];
        a[k][t] = adv.advantages()[i][j];
        ret[k][t] = adv.returns()[i][j];
        oldV[k][t] = r.values()[j];
      }
    }
    return new Batch(tokens, mask, new Batch.PpoTargets(oldLogp, a, ret, oldV));
  }

  /** Generates and scores one worker's prompts (see the class comment). */
  record RolloutTask(
      String cfgJson,
      PpoConfig pc,
      int iteration,
      int eot,
      Broadcast<TrainState> policy,
      Broadcast<TrainState> reference,
      RolloutReward reward)
      implements FlatMapFunction<Iterator<PromptSlice>, Rollout> {
    private static final long serialVersionUID = 1L;

    @Override
    public Iterator<Rollout> call(Iterator<PromptSlice> it) throws Exception {
      List<Rollout> out = new ArrayList<>();
      Trainer.applyThreads(pc.threadsPerTask());
      GptConfig cfg = JSON.readValue(cfgJson, GptConfig.class);
      int seqLen = pc.seqLen();
      Objective objective =
          Objective.ppo(pc.clipRange(), pc.valueClip(), pc.valueCoef(), pc.entropyCoef());
      while (it.hasNext()) {
        PromptSlice s = it.next();
        if (s.prompts.length == 0) {
          continue;
        }
        ExecutorModels.Loaded pol = ExecutorModels.borrow(cfg, seqLen, objective, policy);
        ExecutorModels.Loaded ref = ExecutorModels.borrow(cfg, seqLen, objective, reference);
        try {
          Map<String, INDArray> backbone = GptModel.backbone(cfg, pol.model.params());
          int b = s.prompts.length;
          int[][] responses = new int[b][];
          double[] genMs = new double[b];
          for (int i = 0; i < b; i++) {
            long g0 = System.nanoTime();
            long seed =
                pc.seed()
                    ^ (iteration * 0x9E3779B97F4A7C15L)
                    ^ (s.indexes[i] * 0xC2B2AE3D27D4EB4FL);
            Generator.Tokens g =
                Generator.generateIds(
                    cfg,
                    backbone,
                    s.prompts[i],
                    new Generator.Sampling(pc.maxNewTokens(), pc.temperature(), 0, 1.0, seed, true),
                    eot);
            // the response keeps its end-of-text: the policy learns when to stop, the reward model
            // reads there
            responses[i] = g.eot() ? append(g.ids(), eot) : g.ids();
            genMs[i] = (System.nanoTime() - g0) / 1e6;
          }
          int[][] tokens = new int[b][seqLen + 1];
          for (int i = 0; i < b; i++) {
            Arrays.fill(tokens[i], eot);
            System.arraycopy(s.prompts[i], 0, tokens[i], 0, s.prompts[i].length);
            System.arraycopy(responses[i], 0, tokens[i], s.prompts[i].length, responses[i].length);
          }
          long s0 = System.nanoTime();
          Batch rows = new Batch(tokens, null);
          Gpt.PolicyOutputs po = pol.model.policyOutputs(rows);
          Gpt.PolicyOutputs ro = ref.model.policyOutputs(rows);
          double[] scores =
              reward.score(Arrays.asList(s.prompts), Arrays.asList(responses), seqLen, eot);
          double scoreMs = (System.nanoTime() - s0) / 1e6 / b;
          for (int i = 0; i < b; i++) {
            int p = s.prompts[i].length;
            int len = responses[i].length;
            out.add(
                new Rollout(
                    s.indexes[i],
                    s.worker,
                    s.prompts[i],
                    responses[i],
                    Arrays.copyOfRange(po.logp()[i], p - 1, p - 1 + len),
                    Arrays.copyOfRange(ro.logp()[i], p - 1, p - 1 + len),
                    Arrays.copyOfRange(po.values()[i], p - 1, p - 1 + len),
                    Arrays.copyOfRange(po.entropy()[i], p - 1, p - 1 + len),
                    scores[i],
                    genMs[i],
                    scoreMs));
          }
        } finally {
          ExecutorModels.giveBack(pol);
          ExecutorModels.giveBack(ref);
        }
      }
      return out.iterator();
    }
  }

  private static int[] append(int[] a, int x) {
    int[] out = Arrays.copyOf(a, a.length + 1);
    out[a.length] = x;
    return out;
  }

  /** An iteration's {@code metrics.jsonl} line. */
  private static ObjectNode metrics(IterationStats s) {
    ObjectNode m = JSON.createObjectNode();
    m.put("iteration", s.iteration())
        .put("reward", s.reward())
        .put("kl", s.kl())
        .put("kl_coef", s.klCoef())
        .put("entropy", s.entropy())
        .put("clip_fraction", s.clipFraction())
        .put("approx_kl", s.approxKl())
        .put("loss", s.loss())
        .put("response_tokens", s.responseTokens())
        .put("rollout_ms", TrainingRun.round(s.rolloutMs(), 1))
        .put("generation_ms", TrainingRun.round(s.generationMs(), 1))
        .put("scoring_ms", TrainingRun.round(s.scoringMs(), 1))
        .put("update_ms", TrainingRun.round(s.updateMs(), 1))
        .put("update_compute_ms", TrainingRun.round(s.updateComputeMs(), 1))
        .put("update_workers", s.updateWorkers())
        .put("generation_tokens_per_s", TrainingRun.round(s.generationTokensPerS(), 1));
    return m;
  }

  private static void writeSamples(
      BufferedWriter w,
      int iteration,
      List<Rollout> rollouts,
      List<String> promptText,
      Tokenizer tok,
      int n)
      throws IOException {
    for (int i = 0; i < Math.min(n, rollouts.size()); i++) {
      Rollout r = rollouts.get(i);
      int[] ids = r.response();
      boolean ended = ids.length > 0 && ids[ids.length - 1] == tok.endOfTextId();
      ObjectNode o = JSON.createObjectNode();
      o.put("iteration", iteration)
          .put("prompt", promptText.get(r.index()))
          .put("response", tok.decode(ended ? Arrays.copyOf(ids, ids.length - 1) : ids))
          .put("ended", ended)
          .put("score", r.score())
          .put("kl", r.kl());
      w.write(JSON.writeValueAsString(o));
      w.newLine();
    }
    w.flush();
  }
}
