package io.sparkgpt.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgpt.tokenizer.dataset.Mixture;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Single-process training on a token dataset: the loop that {@code pretrain --workers 1} runs.
 *
 * <pre>{@code
 * try (TokenDataset ds = TokenDataset.open(Path.of("data/tok"))) {
 *     GptConfig model = GptConfig.preset("tiny", ds.vocabSize());
 *     TrainConfig tc = TrainConfig.defaults(model).withSteps(2000, 100);
 *     Trainer.Result r = Trainer.train(tc, ds, Path.of("runs/tiny"), System.out::println);
 * }
 * }</pre>
 *
 * <p>Run folder (kept by {@link TrainingRun}, one optimiser step a unit): {@code metrics.jsonl}
 * (one JSON object per step: step, tokens, loss, lr, grad_norm, ms, tokens_per_s; and per
 * evaluation: step, tokens, val_loss), {@code loss.png} (train and validation loss against tokens),
 * {@code checkpoint/} (the latest {@link Checkpoint}, replaced atomically). With {@link
 * TrainConfig#resume()} a run continues from {@code checkpoint/}: same parameters, optimiser
 * moments, step and data position, so the loss curve continues as if uninterrupted.
 *
 * <p>Data order: the sample at global position {@code pos = (step * grad_accum + micro) *
 * micro_batch + i} is {@code perm_e[pos mod n]} with {@code e = pos / n} and {@code perm_e =
 * SampleReader.permutation(n, e, data_seed)} over the {@code train} split. Validation uses the
 * first {@code eval_batches * micro_batch} samples of {@code val} in order. On a blend of datasets
 * ({@link DataBlend}, {@link io.sparkgpt.tokenizer.dataset.Mixture}) the position first picks the
 * source, and {@code metrics.jsonl} adds {@code tokens_per_source}.
 */
public final class Trainer {
  public static final String METRICS = TrainingRun.METRICS;
  public static final String PLOT = TrainingRun.PLOT;
  public static final String CHECKPOINT = Checkpoint.CURRENT;

  /** Step folders kept under {@code RUN_DIR/checkpoints}. */
  public static final int KEEP_CHECKPOINTS = TrainingRun.KEEP_CHECKPOINTS;

  private static final ObjectMapper JSON = new ObjectMapper();

  private Trainer() {}

  /**
   * What a run did in this call (steps run here; {@code firstStep} is the step it resumed from).
   */
  public record Result(
      long firstStep,
      long steps,
      List<Double> trainLosses,
      Double lastValLoss,
      long tokensSeen,
      double meanMsPerStep,
      Path checkpoint) {}

  /**
   * Environment every process that runs the model should start with. ND4J's OpenMP threads spin
   * after each op by default and then compete with OpenBLAS's own threads for the same cores: on 2
   * threads a tiny step took 1062 ms spinning and 771 ms passive (1 thread: 789 ms; model README).
   * OpenMP reads it only at process start, so launchers and executors set it, not this JVM.
   */
  public static final Map<String, String> NATIVE_ENV = Map.of("OMP_WAIT_POLICY", "PASSIVE");

  /** Sets ND4J's thread counts (0 leaves them). */
  public static void applyThreads(int threads) {
    if (threads > 0) {
      Nd4j.getEnvironment().setMaxMasterThreads(threads);
      Nd4j.getEnvironment().setMaxThreads(threads);
      Nd4j.factory().blas().setMaxThreads(threads);
    }
  }

  /**
   * "" when this process started with {@link #NATIVE_ENV}, else a hint naming what to export (the
   * launcher and Spark executors set it; a JVM started by hand may not).
   */
  private static String nativeEnvAdvice() {
    StringBuilder missing = new StringBuilder();
    NATIVE_ENV.forEach(
        (k, v) -> {
          if (!v.equalsIgnoreCase(System.getenv().getOrDefault(k, ""))) {
            missing.append(missing.length() == 0 ? "" : " ").append(k).append('=').append(v);
          }
        });
    return missing.length() == 0
        ? ""
        : " (export " + missing + " before starting Java: OpenMP's spinning threads slow steps)";
  }

  public static Result train(TrainConfig tc, TokenDataset ds, Path runDir, Consumer<String> log)
      throws IOException {
    return train(tc, ds, runDir, false, log);
  }

  /**
   * @param allowConfigChange resume even when the run's settings differ from the checkpoint's (the
   *     change is logged and written to {@code metrics.jsonl}); otherwise that is an error listing
   *     them
   */
  public static Result train(
      TrainConfig tc, TokenDataset ds, Path runDir, boolean allowConfigChange, Consumer<String> log)
      throws IOException {
    return train(tc, List.of(ds), null, runDir, allowConfigChange, log);
  }

  /**
   * As above on a token-weighted blend of datasets ({@link Mixture}; one per source, in the
   * sources' order), or on {@code sets.get(0)} alone when {@code sources} is null. The sources must
   * share seq_len and vocabulary; checkpoints copy the first one's tokenizer.
   */
  public static Result train(
      TrainConfig tc,
      List<TokenDataset> sets,
      List<Mixture.Source> sources,
      Path runDir,
      boolean allowConfigChange,
      Consumer<String> log)
      throws IOException {
    GptConfig mc = tc.model();
    TokenDataset ds = sets.get(0);
    for (TokenDataset d : sets) {
      if (mc.vocabSize() != d.vocabSize()) {
        throw new IllegalArgumentException(
            "model vocabulary "
                + mc.vocabSize()
                + " != dataset vocabulary "
                + d.vocabSize()
                + " ("
                + d.dir()
                + ")");
      }
      if (d.seqLen() != ds.seqLen()) {
        throw new IllegalArgumentException(
            "mixture sources have different seq_len: "
                + ds.seqLen()
                + " ("
                + ds.dir()
                + ") and "
                + d.seqLen()
                + " ("
                + d.dir()
                + ")");
      }
    }
    int seqLen = ds.seqLen();
    if (seqLen > mc.blockSize()) {
      throw new IllegalArgumentException(
          "dataset seq_len " + seqLen + " exceeds the model's block size " + mc.blockSize());
    }
    applyThreads(tc.threads());
    Files.createDirectories(runDir);
    Path ckptDir = runDir.resolve(CHECKPOINT);
    DataBlend data = DataBlend.of(sets, sources, tc.dataSeed());
    long needed = tc.maxSteps() * tc.gradAccum() * (long) tc.microBatch();
    if (needed > data.train().capacity()) {
      throw new IllegalArgumentException(data.capacityError(needed));
    }
    Map<String, Object> runConfig = new java.util.LinkedHashMap<>(tc.toMap());
    if (sources != null) {
      runConfig.put("data_mixture", DataBlend.describe(sources));
    }
    Map<String, INDArray> params;
    AdamW.State opt;
    long step;
    Checkpoint from = tc.resume() ? TrainingRun.resumable(runDir, mc, Head.NONE, log) : null;
    boolean resumed = from != null;
    List<String> changes = List.of();
    long tokensBefore = 0;
    if (resumed) {
      changes = TrainingRun.resumeChanges(from, runConfig, allowConfigChange);
      params = from.params();
      opt = from.optimizer();
      step = opt.step;
      tokensBefore =
          TrainingRun.tokensSeen(from, step * tc.microBatch() * (long) tc.gradAccum() * seqLen);
    } else {
      params = GptModel.initParams(mc, tc.seed());
      opt = AdamW.State.zeros(params);
      step = 0;
    }
    long tokensPerStep = (long) tc.microBatch() * tc.gradAccum() * seqLen;
    log.accept("model " + mc);
    log.accept(
        String.format(
            Locale.ROOT,
            "train %,d samples, val %,d samples, seq_len %d, %,d tokens/step, %d steps, "
                + "threads %s, OpenBLAS %s",
            data.trainSize(),
            data.valSize(),
            seqLen,
            tokensPerStep,
            tc.maxSteps(),
            (tc.threads() > 0
                    ? tc.threads()
                    : "default (OMP_NUM_THREADS=" + System.getenv("OMP_NUM_THREADS") + ")")
                + nativeEnvAdvice(),
            SystemBlas.loaded()));
    log.accept("config " + JSON.writeValueAsString(tc));

    StepRunner runner = new StepRunner(mc, seqLen, tc.hyper(), tc.schedule(), tc.gradClip());
    params = runner.own(params); // the engine's buffers: steps copy nothing
    opt = runner.own(opt);
    List<Batch> valBatches = data.valBatches(tc.evalBatches(), tc.microBatch());
    if (sources != null) {
      log.accept(
          "mixture "
              + DataBlend.describe(sources)
              + "; capacity "
              + (data.train().capacity() == Long.MAX_VALUE
                  ? "unbounded"
                  : String.format(Locale.ROOT, "%,d samples", data.train().capacity())));
    }

    long first = step;
    Steps steps =
        new Steps(
            tc,
            data,
            runner,
            params,
            opt,
            first,
            tokensBefore,
            seqLen,
            valBatches,
            runConfig,
            ds.tokenizerFile());
    Double lastVal;
    try (TrainingRun run =
        TrainingRun.open(runDir, "step", resumed ? step : 0, tokensBefore, changes, log)) {
      lastVal =
          run.loop(
              steps,
              new TrainingRun.Cadence(
                  first,
                  tc.maxSteps(),
                  tc.evalEvery(),
                  tc.checkpointEvery(),
                  "sparkgpt " + mc.nLayer() + "L/" + mc.dModel() + "d"),
              null);
    }
    return new Result(
        first,
        steps.step - first,
        steps.losses,
        lastVal,
        tokensBefore + (steps.step - first) * tokensPerStep,
        steps.losses.isEmpty() ? 0 : steps.msSum / steps.losses.size(),
        ckptDir);
  }

  /**
   * The single-process engine: one optimiser step per unit, a progress line every {@code log_every}
   * steps.
   */
  private static final class Steps implements TrainingRun.Engine {
    private final TrainConfig tc;
    private final DataBlend data;
    private final StepRunner runner;
    private final Map<String, INDArray> params;
    private final AdamW.State opt;
    private final long first;
    private final long tokensBefore;
    private final long tokensPerStep;
    private final int seqLen;
    private final List<Batch> valBatches;
    private final Map<String, Object> runConfig;
    private final Path tokenizerFile;
    private final List<Double> losses = new ArrayList<>();
    private long step;
    private double lr;
    private double msSum;
    private double windowMs;
    private int windowSteps;

    Steps(
        TrainConfig tc,
        DataBlend data,
        StepRunner runner,
        Map<String, INDArray> params,
        AdamW.State opt,
        long first,
        long tokensBefore,
        int seqLen,
        List<Batch> valBatches,
        Map<String, Object> runConfig,
        Path tokenizerFile) {
      this.tc = tc;
      this.data = data;
      this.runner = runner;
      this.params = params;
      this.opt = opt;
      this.first = first;
      this.step = first;
      this.tokensBefore = tokensBefore;
      this.tokensPerStep = (long) tc.microBatch() * tc.gradAccum() * seqLen;
      this.seqLen = seqLen;
      this.valBatches = valBatches;
      this.runConfig = runConfig;
      this.tokenizerFile = tokenizerFile;
    }

    @Override
    public TrainingRun.Validation validate() {
      return valBatches.isEmpty()
          ? null
          : new TrainingRun.Validation(
              runner.evaluate(params, valBatches), null, valBatches.size());
    }

    @Override
    public TrainingRun.Snapshot snapshot(TrainingRun.Unit u, Double lastValLoss) {
      long samples = step * tc.gradAccum() * (long) tc.microBatch();
      Checkpoint.TrainingState ts =
          new Checkpoint.TrainingState(
              step,
              lr,
              samples,
              u.tokens(),
              samples / data.trainSize(),
              tc.seed(),
              tc.dataSeed(),
              lastValLoss,
              runConfig);
      return new TrainingRun.Snapshot(tc.model(), Head.NONE, params, opt, ts, tokenizerFile);
    }

    @Override
    public TrainingRun.Unit advance() {
      List<Batch> micro = new ArrayList<>(tc.gradAccum());
      for (int j = 0; j < tc.gradAccum(); j++) {
        micro.add(
            Batch.from(
                data.train(), (step * tc.gradAccum() + j) * tc.microBatch(), tc.microBatch()));
      }
      StepRunner.StepStats s = runner.step(params, opt, micro, tc.seed());
      step = s.step();
      lr = s.lr();
      losses.add(s.loss());
      msSum += s.millis();
      windowMs += s.millis();
      windowSteps++;
      long tokens = tokensBefore + (step - first) * tokensPerStep; // the run's actual history
      long drawn = step * tc.gradAccum() * (long) tc.microBatch();
      ObjectNode m = JSON.createObjectNode();
      m.put("step", step)
          .put("tokens", tokens)
          .put("loss", s.loss())
          .put("lr", s.lr())
          .put("grad_norm", s.gradNorm())
          .put("ms", TrainingRun.round(s.millis(), 1))
          .put("tokens_per_s", TrainingRun.round(s.tokens() / (s.millis() / 1000), 1));
      data.putTokensPerSource(m, drawn, seqLen);
      Function<String, String> progress = null;
      if (step % tc.logEvery() == 0 || step == tc.maxSteps() || step == first + 1) {
        double msPerStep = windowMs / windowSteps;
        long at = step;
        progress =
            eta ->
                String.format(
                    Locale.ROOT,
                    "step %d/%d | loss %.4f | lr %.3e | gnorm %.3f | %,.0f tok/s | %.0f ms/step | eta %s%s",
                    at,
                    tc.maxSteps(),
                    s.loss(),
                    s.lr(),
                    s.gradNorm(),
                    tokensPerStep / (msPerStep / 1000),
                    msPerStep,
                    eta,
                    data.sharesLine(drawn));
        windowMs = 0;
        windowSteps = 0;
      }
      return new TrainingRun.Unit(step, step, tokens, m, s.loss(), progress);
    }
  }
}
