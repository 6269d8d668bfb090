package io.sparkgpt.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgpt.model.AdamW;
import io.sparkgpt.model.Checkpoint;
import io.sparkgpt.model.GptConfig;
import io.sparkgpt.model.Head;
import io.sparkgpt.model.Objective;
import io.sparkgpt.model.StepRunner;
import io.sparkgpt.model.TrainConfig;
import io.sparkgpt.model.Trainer;
import io.sparkgpt.model.TrainingRun;
import io.sparkgpt.tokenizer.dataset.SampleReader;
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
import java.util.function.Consumer;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Data-parallel pretraining with deeplearning4j-spark's {@link ParameterAveragingTrainingMaster}
 * ({@code pretrain --engine dl4j-spark}): the same GPT (the explicit engine {@code Gpt}, as a DL4J
 * layer: {@link GptOutputLayer}, {@link GptLayer}), the same data order, run folder and checkpoint
 * format as {@link ParameterAveragingTrainer} ({@code --engine averaging}); read that class's
 * comment first.
 *
 * <h2>A round</h2>
 *
 * One {@code fit} of {@link SparkDl4jMultiLayer} on an RDD of N partitions, partition {@code w}
 * holding worker {@code w}'s K minibatches of B samples: DL4J broadcasts the network's
 * configuration, parameters and Adam state, each task trains its partition's K minibatches (its
 * averaging frequency) and the master averages parameters and updater state ({@code saveUpdater}).
 * The minibatches are built inside the tasks from the dataset path (each executor opens the dataset
 * itself); the driver only ships worker numbers and the round's first step. Samples follow {@link
 * ParameterAveragingTrainer}'s order ({@code grad_accum} 1): step {@code s} uses the same samples
 * in both engines. The master is set up so that this is all it does: no repartitioning, no random
 * split (a round's N*K minibatches are exactly one split), no prefetch threads, no caching (the
 * tasks build the minibatches again after DL4J's count, which costs less than caching them for one
 * use and never releasing them).
 *
 * <h2>Differences from the averaging engine</h2>
 *
 * <ul>
 *   <li>Optimiser: DL4J's Adam with decoupled weight decay and global-norm clipping, which equals
 *       AdamW up to where epsilon is added (see {@link Dl4jGpt}); the moments are checkpointed as
 *       AdamW's, so a run can resume in either engine.
 *   <li>{@code loss} in metrics.jsonl: DL4J returns one score per worker, its last minibatch's, so
 *       a round's loss is the mean over workers of the loss at the round's last step ({@code
 *       loss_last_step} is the same), where the averaging engine averages over all K steps. {@code
 *       val_loss} is computed identically (on the driver, by {@link StepRunner#evaluate}).
 *   <li>No {@code grad_norm}, {@code compute_ms}, {@code data_ms}, {@code averaging_ms}: DL4J does
 *       not report them per round.
 *   <li>Every task builds its network again each round (DL4J's worker instantiates it from the
 *       broadcast configuration), so the engine allocates its activations once per round, not once
 *       per run.
 *   <li>Only float32, no dropout, {@code grad_accum} 1, parameter averaging only (no {@code
 *       --sync-gradients}).
 * </ul>
 */
public final class Dl4jSparkTrainer {
  public static final String ENGINE = "dl4j-spark";
  private static final ObjectMapper JSON = new ObjectMapper();

  private Dl4jSparkTrainer() {}

  /** Arguments as {@link ParameterAveragingTrainer#train}. */
  public static ParameterAveragingTrainer.Result train(
      JavaSparkContext sc,
      TrainConfig tc,
      ParameterAveragingTrainer.Options o,
      TokenDataset ds,
      String dataLocation,
      Path runDir,
      Consumer<String> log)
      throws IOException {
    GptConfig mc = tc.model();
    if (mc.vocabSize() != ds.vocabSize()) {
      throw new IllegalArgumentException(
          "model vocabulary " + mc.vocabSize() + " != dataset vocabulary " + ds.vocabSize());
    }
    if (tc.gradAccum() != 1 || o.syncGradients()) {
      throw new IllegalArgumentException(
          "the dl4j-spark engine averages parameters without gradient accumulation: "
              + "--grad-accum must be 1 and --sync-gradients is not available");
    }
    int seqLen = ds.seqLen();
    if (seqLen > mc.blockSize()) {
      throw new IllegalArgumentException(
          "dataset seq_len " + seqLen + " exceeds the model's block size " + mc.blockSize());
    }
    SampleReader train = ds.split("train");
    if (train.numSamples() == 0) {
      throw new IllegalArgumentException(ds.dir() + ": the train split has no samples");
    }
    Trainer.applyThreads(o.threadsPerTask());
    Files.createDirectories(runDir);
    PretrainData source = PretrainData.of(ds, dataLocation);
    int n = o.workers();
    int b = tc.microBatch();

    MultiLayerNetwork net = Dl4jGpt.network(tc, seqLen); // checks float32 and no dropout
    Double lastVal = null;
    Map<String, Object> tsConfig = new LinkedHashMap<>(tc.toMap());
    tsConfig.put("engine", ENGINE);
    tsConfig.putAll(Objective.lm().settings());
    tsConfig.put("workers", n);
    tsConfig.put("averaging_every", o.averagingEvery());
    Checkpoint from = tc.resume() ? TrainingRun.resumable(runDir, mc, Head.NONE, log) : null;
    List<String> changes =
        from == null ? List.of() : TrainingRun.resumeChanges(from, tsConfig, o.allowConfigChange());
    if (from != null) {
      Dl4jGpt.setParams(net, mc, from.params());
      Dl4jGpt.setOptimizer(net, mc, from.optimizer());
      lastVal = from.trainingState() == null ? null : from.trainingState().valLoss();
    }
    final long firstStep = net.getIterationCount();
    long tokensPerStep = (long) n * b * seqLen;
    long tokensBefore = from == null ? 0 : TrainingRun.tokensSeen(from, firstStep * tokensPerStep);
    log.accept(
        "model "
            + mc
            + ", "
            + String.format(Locale.ROOT, "%,d", mc.parameterCount())
            + " parameters");
    log.accept(
        String.format(
            Locale.ROOT,
            "dl4j-spark parameter averaging: %d workers x batch %d, average every %d "
                + "steps, %,d tokens/step, steps %d..%d, %d ND4J thread(s) per task; train %,d samples, val %,d",
            n,
            b,
            o.averagingEvery(),
            tokensPerStep,
            firstStep,
            tc.maxSteps(),
            o.threadsPerTask(),
            train.numSamples(),
            source.valSize()));
    log.accept("config " + JSON.writeValueAsString(tc));

    ParameterAveragingTrainingMaster master =
        new ParameterAveragingTrainingMaster.Builder(n, b)
            .batchSizePerWorker(b)
            .averagingFrequency(o.averagingEvery())
            .saveUpdater(true)
            .workerPrefetchNumBatches(0)
            .repartionData(Repartition.Never)
            .rddTrainingApproach(RDDTrainingApproach.Direct)
            .storageLevel(null)
            .build();
    SparkDl4jMultiLayer sparkNet = new SparkDl4jMultiLayer(sc, net, master);

    Rounds rounds =
        new Rounds(
            sc, sparkNet, tc, o, source, firstStep, tokensBefore, tsConfig, ds.tokenizerFile());
    try (TrainingRun run =
        TrainingRun.open(
            runDir, "step", from != null ? firstStep : 0, tokensBefore, changes, log)) {
      lastVal =
          run.loop(
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
                      + o.averagingEvery()
                      + ", "
                      + ENGINE),
              lastVal);
      return rounds.result(run, lastVal);
    }
  }

  /**
   * The DL4J engine: a round is one {@code fit} of the N workers' K minibatches each (see the class
   * comment).
   */
  private static final class Rounds extends AveragingRounds {
    private final SparkDl4jMultiLayer sparkNet;
    private final MultiLayerNetwork net;
    private final PretrainData source;
    private long step;

    /**
     * The parameters after the last round, read from the network once for validation and the
     * checkpoint.
     */
    private Map<String, INDArray> params;

    Rounds(
        JavaSparkContext sc,
        SparkDl4jMultiLayer sparkNet,
        TrainConfig tc,
        ParameterAveragingTrainer.Options o,
        PretrainData source,
        long firstStep,
        long tokensBefore,
        Map<String, Object> tsConfig,
        Path tokenizerFile) {
      super(sc, tc, o, source, Objective.lm(), firstStep, tokensBefore, tsConfig, tokenizerFile);
      this.sparkNet = sparkNet;
      this.net = sparkNet.getNetwork();
      this.source = source;
      this.step = firstStep;
    }

    @Override
    long step() {
      return step;
    }

    @Override
    Map<String, INDArray> params() {
      if (params == null) {
        params = Dl4jGpt.params(net, tc.model());
      }
      return params;
    }

    @Override
    AdamW.State optimizer() {
      return Dl4jGpt.optimizer(net, tc.model());
    }

    @Override
    public TrainingRun.Unit advance() {
      long t0 = System.nanoTime();
      long s0 = step;
      long round = nextRound();
      int k = (int) Math.min(o.averagingEvery(), tc.maxSteps() - s0);
      int b = tc.microBatch();
      JavaRDD<DataSet> batches =
          sc.parallelize(workerIds, n)
              .mapPartitions(
                  new WorkerBatches(source, n, s0, k, b, tc.dataSeed(), o.threadsPerTask()));
      sc.setJobDescription(
          String.format(
              Locale.ROOT, "pretrain dl4j-spark round %d (steps %d..%d)", round, s0, s0 + k));
      sparkNet.fit(batches);
      // The master advances the iteration count by its averaging frequency even for a shorter last
      // round.
      step = s0 + k;
      Dl4jGpt.setStep(net, step);
      params = null;
      double wallMs = (System.nanoTime() - t0) / 1e6;

      double loss = sparkNet.getScore();
      if (!Double.isFinite(loss)) {
        throw new IllegalStateException(
            "round " + round + ": the loss is " + loss + "; refusing to continue");
      }
      double lr = tc.schedule().lr(step - 1);
      long roundTokens = (long) k * b * n * source.seqLen();
      long tokens = tokensAt(step);
      finished(
          new ParameterAveragingTrainer.RoundStats(
              round,
              step,
              loss,
              loss,
              lr,
              Double.NaN,
              roundTokens,
              wallMs,
              Double.NaN,
              Double.NaN,
              Double.NaN));
      double tokS = roundTokens / (wallMs / 1000);
      ObjectNode m = JSON.createObjectNode();
      m.put("step", step)
          .put("tokens", tokens)
          .put("loss", loss)
          .put("lr", lr)
          .put("ms", TrainingRun.round(wallMs, 1))
          .put("tokens_per_s", TrainingRun.round(tokS, 1))
          .put("round", round)
          .put("loss_last_step", loss)
          .put("workers", n)
          .put("tokens_per_s_per_worker", TrainingRun.round(tokS / n, 1));
      long at = step;
      return new TrainingRun.Unit(
          round,
          step,
          tokens,
          m,
          loss,
          eta ->
              String.format(
                  Locale.ROOT,
                  "round %d | step %d/%d | loss %.4f | lr %.3e | %,.0f tok/s (%,.0f/worker) | %.0f ms/round | eta %s",
                  round,
                  at,
                  tc.maxSteps(),
                  loss,
                  lr,
                  tokS,
                  tokS / n,
                  wallMs,
                  eta));
    }
  }

  /**
   * Worker {@code w}'s K minibatches of a round, built in its task: features are the B input
   * sequences' token ids, labels the next tokens, both {@code [B, T]} floats. Captures only strings
   * and numbers.
   */
  record WorkerBatches(PretrainData data, int n, long s0, int k, int b, long dataSeed, int threads)
      implements FlatMapFunction<Iterator<Integer>, DataSet> {
    private static final long serialVersionUID = 1L;

    @Override
    public Iterator<DataSet> call(Iterator<Integer> it) {
      if (!it.hasNext()) {
        return Collections.emptyIterator();
      }
      int w = it.next();
      if (it.hasNext()) {
        throw new IllegalStateException("a partition holds more than one worker");
      }
      Trainer.applyThreads(threads);
      List<DataSet> out = new ArrayList<>(k);
      for (int j = 0; j < k; j++) {
        int[][] tokens =
            data.trainBatch(
                    ParameterAveragingTrainer.firstPosition(s0 + j, n, w, 1, 0, b), b, dataSeed)
                .tokens();
        out.add(dataSet(tokens));
      }
      return out.iterator();
    }
  }

  /** Samples of T + 1 tokens as a DataSet: features tokens [0, T), labels tokens [1, T]. */
  public static DataSet dataSet(int[][] tokens) {
    int t = tokens[0].length - 1;
    float[] in = new float[tokens.length * t];
    float[] out = new float[tokens.length * t];
    for (int i = 0; i < tokens.length; i++) {
      for (int j = 0; j < t; j++) {
        in[i * t + j] = tokens[i][j];
        out[i * t + j] = tokens[i][j + 1];
      }
    }
    long[] shape = {tokens.length, t};
    return new DataSet(Nd4j.create(in, shape, 'c'), Nd4j.create(out, shape, 'c'));
  }
}
