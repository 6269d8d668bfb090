package io.sparkgpt.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgpt.model.AdamW;
import io.sparkgpt.model.Batch;
import io.sparkgpt.model.Checkpoint;
import io.sparkgpt.model.DataBlend;
import io.sparkgpt.model.GptConfig;
import io.sparkgpt.model.GptModel;
import io.sparkgpt.model.Head;
import io.sparkgpt.model.LrSchedule;
import io.sparkgpt.model.Objective;
import io.sparkgpt.model.StepRunner;
import io.sparkgpt.model.TrainConfig;
import io.sparkgpt.model.Trainer;
import io.sparkgpt.model.TrainingRun;
import io.sparkgpt.tokenizer.dataset.Mixture;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Data-parallel training by <b>parameter averaging</b> over Spark RDDs: {@code pretrain --engine
 * averaging}, and the alignment commands {@code sft} and {@code train-reward}, which differ only in
 * their {@link Run}: the {@link TrainingData} each worker reads, the {@link Objective}
 * (language-model loss with a mask, or the pairwise reward loss) and the starting parameters.
 *
 * <h2>A round</h2>
 *
 * The driver holds the parameters and the AdamW state ({@link TrainState}: float arrays). Each
 * round it broadcasts them, runs {@code sc.parallelize(0..N-1, N).mapPartitions(...)}: worker
 * {@code w} reads its samples itself through the run's {@link TrainingData} (files at the same path
 * on every host; no training data goes through the driver), and runs {@code K} optimiser steps with
 * {@link StepRunner#run} from the broadcast parameters and moments. The N results (parameters,
 * first and second moments, per-step losses) are summed with {@code treeAggregate} and divided by N
 * on the driver; the step counter advances by K. A round is never averaged over fewer than N
 * results: the driver checks that exactly the workers 0..N-1 contributed, once each, and fails
 * otherwise. Everything a worker does depends only on (broadcast state, round, worker), so a
 * partition that Spark recomputes after a task failure gives the same result.
 *
 * <h2>Data order</h2>
 *
 * Rounds start at the run's first step {@code s0} (0, or the step resumed from): local step {@code
 * k} of round {@code r} is global step {@code s = s0 + r*K + k}. Worker {@code w}'s micro-batch
 * {@code j} (of {@code A = grad_accum}) at step {@code s} holds the samples at global positions
 * {@code pos = ((s*N + w)*A + j)*B + i}, {@code i < B}; position {@code pos} is sample {@code
 * perm_e[pos mod n]} of the {@code train} split, {@code e = pos / n}, {@code perm_e =
 * epochPermutation(e, data_seed)} (the single-process {@link Trainer}'s order). So step {@code s}
 * as a whole uses exactly the samples that {@code Trainer} with micro-batch B and {@code N*A}
 * micro-batches per step (or batch {@code N*B}) uses at step {@code s}, and the order does not
 * depend on K.
 *
 * <h2>What is averaged, and K = 1</h2>
 *
 * Parameters, AdamW first moments {@code m} and second moments {@code v} are averaged element-wise;
 * the step count is the same on every worker. With K = 1 this is <b>not</b> exactly synchronous
 * data parallelism (one AdamW step on the mean gradient of the union batch): starting from
 * identical state, the averaged {@code m} equals the union's {@code m} (it is linear in the
 * gradient), but the averaged {@code v} is {@code b2*v + (1-b2)*mean_w(g_w^2)} instead of {@code
 * b2*v + (1-b2)*(mean_w g_w)^2} (larger by the variance between the workers' gradients), the
 * averaged update is a mean of ratios {@code m_w / sqrt(v_w)} rather than a ratio of means, and
 * each worker clips its own (noisier, larger-norm) gradient. All three shrink the step slightly
 * relative to the union step, so losses stay close to one worker with the union batch ({@code
 * PretrainCommandTest} bounds the gap). With K > 1 workers drift apart for K steps between averages
 * (local SGD).
 *
 * <p>For the exact K = 1 equivalent, {@link Options#syncGradients} averages <b>gradients</b>
 * instead: each worker returns its step's gradient (normalised by its own token count; equal counts
 * make the mean the union batch's gradient), and the driver clips the mean and takes one AdamW
 * step, which is synchronous data parallelism (equal to one worker with batch N*B up to float
 * summation order). Parameter averaging stays the default and the only mode for K > 1.
 *
 * <h2>Threads</h2>
 *
 * ND4J's thread counts are set in every task to {@link Options#threadsPerTask} (executor cores /
 * concurrent tasks per executor, i.e. {@code spark.task.cpus}; 1 by default): on a 2-core machine 1
 * thread per task is several times faster than 2 with two tasks running.
 *
 * <h2>Run folder</h2>
 *
 * {@code metrics.jsonl} (one line per round: {@code step}, {@code tokens}, {@code loss} (mean over
 * workers and the round's steps), {@code lr}, {@code grad_norm}, {@code ms}, {@code tokens_per_s},
 * plus {@code round}, {@code loss_last_step}, {@code tokens_per_s_per_worker}, {@code compute_ms},
 * {@code data_ms}, {@code averaging_ms}; and {@code step}, {@code tokens}, {@code val_loss} per
 * evaluation), {@code loss.png}, {@code checkpoints/step-XXXXXXX} (the last {@link
 * #KEEP_CHECKPOINTS}), {@code checkpoint} (a copy of the latest, for {@code generate}). Resume
 * continues from the latest loadable {@code checkpoints/step-*}.
 */
public final class ParameterAveragingTrainer {
  public static final String CHECKPOINTS = Checkpoint.STEPS;
  public static final int KEEP_CHECKPOINTS = TrainingRun.KEEP_CHECKPOINTS;
  private static final ObjectMapper JSON = new ObjectMapper();

  private ParameterAveragingTrainer() {}

  /**
   * @param workers N, data-parallel workers (Spark partitions per round)
   * @param averagingEvery K, local steps between averages
   * @param threadsPerTask ND4J threads in each task (>= 1)
   * @param evalEvery validation loss every this many rounds (and at the end); 0 = only at the end
   * @param checkpointEvery checkpoint every this many rounds (and at the end); 0 = only at the end
   */
  public record Options(
      int workers,
      int averagingEvery,
      int threadsPerTask,
      int evalEvery,
      int checkpointEvery,
      boolean syncGradients,
      boolean allowConfigChange) {
    public Options(
        int workers,
        int averagingEvery,
        int threadsPerTask,
        int evalEvery,
        int checkpointEvery,
        boolean syncGradients) {
      this(
          workers,
          averagingEvery,
          threadsPerTask,
          evalEvery,
          checkpointEvery,
          syncGradients,
          false);
    }

    public Options {
      if (workers < 1
          || averagingEvery < 1
          || threadsPerTask < 1
          || evalEvery < 0
          || checkpointEvery < 0) {
        throw new IllegalArgumentException(
            "workers, averaging-every and threads must be positive; eval-every and "
                + "checkpoint-every non-negative");
      }
      if (syncGradients && averagingEvery != 1) {
        throw new IllegalArgumentException(
            "gradient averaging (--sync-gradients) needs --averaging-every 1");
      }
    }
  }

  /** One round's figures. */
  public record RoundStats(
      long round,
      long step,
      double loss,
      double lastStepLoss,
      double lr,
      double gradNorm,
      long tokens,
      double wallMs,
      double computeMs,
      double dataMs,
      double averagingMs) {}

  /**
   * {@code lastValAccuracy}, {@code lastValMargin}: the validation pairwise accuracy and mean
   * reward margin of a reward model or a DPO policy's implicit reward (null for other objectives).
   */
  public record Result(
      long firstStep,
      long lastStep,
      List<RoundStats> rounds,
      Double lastValLoss,
      Double lastValAccuracy,
      Double lastValMargin,
      double tokensPerS,
      Path checkpoint) {}

  /**
   * What a run trains: {@code name} (for logs and Spark job descriptions), its data, its objective,
   * and the starting parameters (including the objective's head), or null for a fresh GPT-2
   * initialisation.
   */
  public record Run(
      String name, TrainingData data, Objective objective, Map<String, INDArray> initialParams) {}

  /**
   * Pretraining on a token dataset from freshly initialised parameters.
   *
   * @param ds the dataset, opened on the driver (validation batches, manifest)
   * @param dataLocation where the workers read it: a path that is the same on every executor, or a
   *     Hadoop file system URI ({@link DatasetLocation}); null: {@code ds}'s own folder
   */
  public static Result train(
      JavaSparkContext sc,
      TrainConfig tc,
      Options o,
      TokenDataset ds,
      String dataLocation,
      Path runDir,
      Consumer<String> log)
      throws IOException {
    if (ds.split("train").numSamples() == 0) {
      throw new IllegalArgumentException(ds.dir() + ": the train split has no samples");
    }
    return train(
        sc,
        tc,
        o,
        new Run("pretrain", PretrainData.of(ds, dataLocation), Objective.lm(), null),
        runDir,
        log);
  }

  public static Result train(
      JavaSparkContext sc, TrainConfig tc, Options o, Run run, Path runDir, Consumer<String> log)
      throws IOException {
    GptConfig mc = tc.model();
    TrainingData data = run.data();
    Objective objective = run.objective();
    Head head = objective.head();
    if (mc.vocabSize() != data.vocabSize()) {
      throw new IllegalArgumentException(
          "model vocabulary " + mc.vocabSize() + " != dataset vocabulary " + data.vocabSize());
    }
    if (!"float32".equals(mc.dtype())) {
      throw new IllegalArgumentException(
          "parameter averaging trains float32 models only, not " + mc.dtype());
    }
    int seqLen = data.seqLen();
    if (seqLen > mc.blockSize()) {
      throw new IllegalArgumentException(
          "dataset seq_len " + seqLen + " exceeds the model's block size " + mc.blockSize());
    }
    if (data.trainSize() == 0) {
      throw new IllegalArgumentException(run.name() + ": the train split has no examples");
    }
    Trainer.applyThreads(o.threadsPerTask());
    Files.createDirectories(runDir);
    int n = o.workers();

    // Start or resume.
    TrainState state = null;
    Double lastVal = null;
    Map<String, Object> tsConfig = new LinkedHashMap<>(tc.toMap());
    tsConfig.put("engine", "averaging");
    tsConfig.putAll(objective.settings());
    tsConfig.putAll(data.settings());
    tsConfig.put("workers", n);
    tsConfig.put("averaging_every", o.averagingEvery());
    Mixture mixture = data.mixture(tc.dataSeed());
    if (mixture != null) {
      tsConfig.put("data_mixture", DataBlend.describe(mixture.sources()));
      long needed = tc.maxSteps() * tc.gradAccum() * (long) tc.microBatch() * n;
      if (needed > mixture.capacity()) {
        throw new IllegalArgumentException(DataBlend.tooFew(mixture, needed));
      }
    }
    Checkpoint from = tc.resume() ? TrainingRun.resumable(runDir, mc, head, log) : null;
    boolean resumed = from != null;
    List<String> changes = List.of();
    if (resumed) {
      changes = TrainingRun.resumeChanges(from, tsConfig, o.allowConfigChange());
      state = TrainState.of(from.params(), from.optimizer());
      lastVal = from.trainingState() == null ? null : from.trainingState().valLoss();
    }
    if (state == null) {
      Map<String, INDArray> p =
          run.initialParams() != null ? run.initialParams() : GptModel.initParams(mc, tc.seed());
      GptModel.checkParams(mc, head, p);
      state = TrainState.of(p, AdamW.State.zeros(p));
    }
    final long firstStep = state.step;
    long tokensPerStep =
        (long) n * tc.microBatch() * data.rowsPerExample() * tc.gradAccum() * seqLen;
    long tokensBefore = resumed ? TrainingRun.tokensSeen(from, firstStep * tokensPerStep) : 0;
    log.accept(
        "model "
            + mc
            + ", "
            + String.format(Locale.ROOT, "%,d", mc.parameterCount())
            + " parameters");
    log.accept(
        String.format(
            Locale.ROOT,
            "%s by parameter averaging: %d workers x batch %d x grad_accum %d, average "
                + "every %d steps, %,d tokens/step, steps %d..%d, %d ND4J thread(s) per task; train %,d examples, val %,d",
            run.name(),
            n,
            tc.microBatch(),
            tc.gradAccum(),
            o.averagingEvery(),
            tokensPerStep,
            firstStep,
            tc.maxSteps(),
            o.threadsPerTask(),
            data.trainSize(),
            data.valSize()));
    log.accept("config " + JSON.writeValueAsString(tc));

    Rounds rounds = new Rounds(sc, tc, o, run, state, tokensBefore, tsConfig, mixture, log);
    try (TrainingRun tr =
        TrainingRun.open(runDir, "step", resumed ? firstStep : 0, tokensBefore, changes, log)) {
      if (run.initialParams() != null && !resumed && !rounds.valBatches.isEmpty()) {
        // fine-tuning: where the base model starts, so that the validation curve shows what
        // training changed
        tr.baseline(rounds.validate());
      }
      lastVal =
          tr.loop(
              rounds,
              new TrainingRun.Cadence(
                  firstStep,
                  tc.maxSteps(),
                  o.evalEvery(),
                  o.checkpointEvery(),
                  "sparkgpt "
                      + mc.nLayer()
                      + "L/"
                      + mc.dModel()
                      + "d, "
                      + n
                      + " workers, K="
                      + o.averagingEvery()),
              lastVal);
      return rounds.result(tr, lastVal);
    }
  }

  /**
   * The averaging engine: a round of K steps on the N workers, then the driver's average (see the
   * class comment).
   */
  private static final class Rounds extends AveragingRounds {
    private final Run run;
    private final Mixture mixture;
    private final Consumer<String> log;
    private final String tcJson;
    private TrainState state;
    private Map<Integer, String> placement = Map.of();

    Rounds(
        JavaSparkContext sc,
        TrainConfig tc,
        Options o,
        Run run,
        TrainState state,
        long tokensBefore,
        Map<String, Object> tsConfig,
        Mixture mixture,
        Consumer<String> log)
        throws IOException {
      super(
          sc,
          tc,
          o,
          run.data(),
          run.objective(),
          state.step,
          tokensBefore,
          tsConfig,
          Path.of(run.data().tokenizerFile()));
      this.run = run;
      this.state = state;
      this.mixture = mixture;
      this.log = log;
      this.tcJson = JSON.writeValueAsString(tc);
    }

    @Override
    long step() {
      return state.step;
    }

    @Override
    Map<String, INDArray> params() {
      return state.params();
    }

    @Override
    AdamW.State optimizer() {
      return state.optimizer();
    }

    @Override
    public TrainingRun.Unit advance() {
      long t0 = System.nanoTime();
      long s0 = state.step;
      long round = nextRound();
      int k = (int) Math.min(o.averagingEvery(), tc.maxSteps() - s0);
      Broadcast<TrainState> bc = sc.broadcast(state);
      RoundTask task =
          new RoundTask(
              tcJson, data, objective, n, s0, k, o.threadsPerTask(), o.syncGradients(), bc);
      RoundSum sum =
          sumRound(
              sc,
              workerIds,
              task,
              round,
              o.syncGradients() ? s0 : s0 + k,
              String.format(
                  Locale.ROOT, "%s round %d (steps %d..%d)", run.name(), round, s0, s0 + k));
      if (o.syncGradients()) {
        // The mean of the workers' gradients is the gradient of the union batch (equal token counts
        // per worker):
        // one clipped AdamW step on the driver is exactly synchronous data parallelism.
        TrainState g = new TrainState();
        g.names = state.names;
        g.shapes = state.shapes;
        g.params = sum.mean(0);
        Map<String, INDArray> grads = g.params();
        Map<String, INDArray> p = state.params();
        AdamW.State opt = state.optimizer();
        double norm = AdamW.clipGlobalNorm(grads, tc.gradClip());
        double lrNow = driverRunner.schedule().lr(s0);
        driverRunner.adamw().step(p, grads, opt, lrNow);
        state = TrainState.of(p, opt);
        sum.gradNormSum[0] = norm * n;
        sum.lr[0] = lrNow;
      } else {
        state = averaged(state, sum);
      }
      bc.destroy(false);
      if (!sum.placement.equals(placement)) {
        placement = sum.placement;
        log.accept(
            "workers placed: "
                + placement.entrySet().stream()
                    .map(e -> e.getKey() + " on " + e.getValue())
                    .collect(Collectors.joining(", ")));
      }
      double wallMs = (System.nanoTime() - t0) / 1e6;
      double lossSum = 0;
      double gnSum = 0;
      for (int j = 0; j < k; j++) {
        lossSum += sum.lossSum[j] / n;
        gnSum += sum.gradNormSum[j] / n;
      }
      double loss = lossSum / k;
      double gradNorm = gnSum / k;
      double lastLoss = sum.lossSum[k - 1] / n;
      double lr = sum.lr[k - 1];
      long step = state.step;
      long tokens = tokensAt(step);
      double averagingMs = Math.max(0, wallMs - (sum.computeMsMax + sum.dataMsMax));
      finished(
          new RoundStats(
              round,
              step,
              loss,
              lastLoss,
              lr,
              gradNorm,
              sum.tokens,
              wallMs,
              sum.computeMsMax,
              sum.dataMsMax,
              averagingMs));
      double tokS = sum.tokens / (wallMs / 1000);
      ObjectNode m = JSON.createObjectNode();
      m.put("step", step)
          .put("tokens", tokens)
          .put("loss", loss)
          .put("lr", lr)
          .put("grad_norm", gradNorm)
          .put("ms", TrainingRun.round(wallMs, 1))
          .put("tokens_per_s", TrainingRun.round(tokS, 1))
          .put("round", round)
          .put("loss_last_step", lastLoss)
          .put("workers", n)
          .put("tokens_per_s_per_worker", TrainingRun.round(tokS / n, 1))
          .put("compute_ms", TrainingRun.round(sum.computeMsMax, 1))
          .put("data_ms", TrainingRun.round(sum.dataMsMax, 1))
          .put("averaging_ms", TrainingRun.round(averagingMs, 1));
      long drawn = step * tc.gradAccum() * (long) tc.microBatch() * n;
      DataBlend.putTokensPerSource(mixture, m, drawn, data.seqLen());
      return new TrainingRun.Unit(
          round,
          step,
          tokens,
          m,
          loss,
          eta ->
              String.format(
                  Locale.ROOT,
                  "round %d | step %d/%d | loss %.4f | lr %.3e | gnorm %.3f | %,.0f tok/s (%,.0f/worker) | %.0f ms/round: "
                      + "compute %.0f, data %.0f, averaging+overhead %.0f | eta %s%s",
                  round,
                  step,
                  tc.maxSteps(),
                  loss,
                  lr,
                  gradNorm,
                  tokS,
                  tokS / n,
                  wallMs,
                  sum.computeMsMax,
                  sum.dataMsMax,
                  averagingMs,
                  eta,
                  DataBlend.sharesLine(mixture, drawn)));
    }
  }

  /**
   * The Spark part of one averaging round, shared by every parameter-averaging trainer ({@code
   * pretrain}, {@code sft}, {@code train-reward} and {@code ppo}'s update): runs {@code task} on
   * {@code work.size()} partitions (element {@code w} is worker {@code w}'s work), sums the results
   * with {@code treeAggregate}, and refuses a sum that does not hold exactly the workers 0..N-1,
   * once each, or whose workers did not all end at optimizer step {@code expectStep}.
   */
  static <T> RoundSum sumRound(
      JavaSparkContext sc,
      List<T> work,
      FlatMapFunction<Iterator<T>, RoundSum> task,
      long round,
      long expectStep,
      String description) {
    int n = work.size();
    sc.setJobDescription(description);
    JavaRDD<RoundSum> results = sc.parallelize(work, n).mapPartitions(task);
    RoundSum sum =
        results.treeAggregate(new RoundSum(), RoundSum::merge, RoundSum::merge, n > 8 ? 2 : 1);
    if (!sum.hasExactlyWorkers(n)) {
      throw new IllegalStateException(
          String.format(
              Locale.ROOT,
              "round %d: averaged %d results, expected one from each of %d workers; refusing to continue",
              round,
              sum.count,
              n));
    }
    if (sum.step != expectStep) {
      throw new IllegalStateException(
          "round "
              + round
              + ": workers ended at different optimizer steps ("
              + sum.step
              + ", expected "
              + expectStep
              + ")");
    }
    return sum;
  }

  /**
   * The workers' mean parameters and moments, at the step they all ended at (a sum checked by
   * {@link #sumRound}).
   */
  static TrainState averaged(TrainState like, RoundSum sum) {
    TrainState next = new TrainState();
    next.names = like.names;
    next.shapes = like.shapes;
    next.params = sum.mean(0);
    next.m = sum.mean(1);
    next.v = sum.mean(2);
    next.step = sum.step;
    return next;
  }

  /**
   * The samples of worker {@code w}'s micro-batch {@code j} at global step {@code s} (see the class
   * comment).
   */
  static long firstPosition(long s, int n, int w, int accum, int j, int b) {
    return ((s * n + w) * accum + j) * (long) b;
  }

  /**
   * One round on one worker: the function Spark runs per partition. Captures only strings, numbers,
   * the broadcast.
   */
  record RoundTask(
      String tcJson,
      TrainingData data,
      Objective objective,
      int n,
      long s0,
      int k,
      int threads,
      boolean gradients,
      Broadcast<TrainState> bc)
      implements FlatMapFunction<Iterator<Integer>, RoundSum> {
    private static final long serialVersionUID = 1L;

    @Override
    public Iterator<RoundSum> call(Iterator<Integer> it) throws Exception {
      if (!it.hasNext()) {
        return Collections.emptyIterator();
      }
      int w = it.next();
      if (it.hasNext()) {
        throw new IllegalStateException("a partition holds more than one worker");
      }
      String placement = Devices.bindTask();
      Trainer.applyThreads(threads);
      TrainConfig tc = JSON.readValue(tcJson, TrainConfig.class);
      long d0 = System.nanoTime();
      int b = tc.microBatch();
      int a = tc.gradAccum();
      List<List<Batch>> steps = new ArrayList<>(k);
      long tokens = 0;
      for (int j = 0; j < k; j++) {
        long s = s0 + j;
        List<Batch> micro = new ArrayList<>(a);
        for (int q = 0; q < a; q++) {
          Batch batch = data.trainBatch(firstPosition(s, n, w, a, q, b), b, tc.dataSeed());
          tokens += (long) batch.size() * batch.seqLen();
          micro.add(batch);
        }
        steps.add(micro);
      }
      TrainState st = bc.value();
      Map<String, INDArray> params = st.params();
      AdamW.State opt = st.optimizer();
      long d1 = System.nanoTime();
      RunnerCache.Spec spec = RunnerCache.Spec.of(tc, data.seqLen(), objective);
      StepRunner runner = RunnerCache.borrow(spec);
      if (gradients) {
        StepRunner.Accumulated acc;
        try {
          // the dropout seed StepRunner.step would use at this step
          long seed = tc.seed() ^ (w * 0x9E3779B97F4A7C15L);
          acc = runner.accumulate(params, steps.get(0), seed ^ (s0 * 0x9E3779B97F4A7C15L));
        } finally {
          RunnerCache.giveBack(spec, runner);
        }
        long g1 = System.nanoTime();
        float[][] grads = new float[st.names.length][];
        for (int i = 0; i < st.names.length; i++) {
          grads[i] = TrainState.floats(acc.grads().get(st.names[i]));
        }
        RoundSum r = RoundSum.ofWorker(w, placement, grads, null, null, opt.step);
        r.lossSum = new double[] {acc.loss()};
        r.gradNormSum = new double[1];
        r.lr = new double[1];
        r.tokens = tokens;
        long g2 = System.nanoTime();
        r.computeMsMax = r.computeMsSum = (g1 - d1) / 1e6;
        r.dataMsMax = r.dataMsSum = ((d1 - d0) + (g2 - g1)) / 1e6;
        return Collections.singletonList(r).iterator();
      }
      List<StepRunner.StepStats> stats;
      try {
        // worker 0 uses the run's seed, as the single-process trainer does; the others a derived
        // one (dropout only)
        stats = runner.run(params, opt, steps, tc.seed() ^ (w * 0x9E3779B97F4A7C15L));
      } finally {
        RunnerCache.giveBack(spec, runner);
      }
      long d2 = System.nanoTime();
      TrainState out = TrainState.of(params, opt);
      RoundSum r = RoundSum.ofWorker(w, placement, out.params, out.m, out.v, opt.step);
      r.lossSum = new double[k];
      r.gradNormSum = new double[k];
      r.lr = new double[k];
      for (int j = 0; j < k; j++) {
        r.lossSum[j] = stats.get(j).loss();
        r.gradNormSum[j] = stats.get(j).gradNorm();
        r.lr[j] = stats.get(j).lr();
      }
      r.tokens = tokens;
      long d3 = System.nanoTime();
      r.computeMsMax = r.computeMsSum = (d2 - d1) / 1e6;
      r.dataMsMax = r.dataMsSum = ((d1 - d0) + (d3 - d2)) / 1e6;
      return Collections.singletonList(r).iterator();
    }
  }

  /**
   * Per executor JVM: idle step runners (an engine's buffers each; one per concurrently running
   * task, reused across rounds).
   */
  static final class RunnerCache {
    private static final Map<String, ConcurrentLinkedQueue<StepRunner>> RUNNERS =
        new ConcurrentHashMap<>();

    /** What a runner is built from (the schedule record holds every learning-rate setting). */
    record Spec(
        GptConfig model,
        int seqLen,
        AdamW.Hyper hyper,
        LrSchedule schedule,
        double gradClip,
        Objective objective) {
      static Spec of(TrainConfig tc, int seqLen, Objective objective) {
        return new Spec(tc.model(), seqLen, tc.hyper(), tc.schedule(), tc.gradClip(), objective);
      }

      StepRunner newRunner() {
        return new StepRunner(model, seqLen, hyper, schedule, gradClip, objective);
      }

      private String key() {
        // the device too: a runner's arrays live on the GPU of the task that built it
        return Nd4j.getAffinityManager().getDeviceForCurrentThread() + "|" + this;
      }
    }

    static StepRunner borrow(Spec spec) {
      StepRunner r = RUNNERS.computeIfAbsent(spec.key(), x -> new ConcurrentLinkedQueue<>()).poll();
      return r != null ? r : spec.newRunner();
    }

    static void giveBack(Spec spec, StepRunner r) {
      RUNNERS.computeIfAbsent(spec.key(), x -> new ConcurrentLinkedQueue<>()).add(r);
    }
  }

  /**
   * Validation batches, as Trainer's: the first eval_batches * micro_batch examples of val (none
   * without val).
   */
  static List<Batch> valBatches(TrainingData data, TrainConfig tc) {
    List<Batch> out = new ArrayList<>();
    if (data.valSize() > 0) {
      int nb = Math.min(tc.evalBatches(), Math.max(1, data.valSize() / tc.microBatch()));
      for (int k = 0; k < nb; k++) {
        int b = Math.min(tc.microBatch(), data.valSize());
        out.add(data.valBatch(k * b, b));
      }
    }
    return out;
  }
}
