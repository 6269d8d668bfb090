package io.sparkgpt.cluster;

import io.sparkgpt.model.AdamW;
import io.sparkgpt.model.Batch;
import io.sparkgpt.model.Checkpoint;
import io.sparkgpt.model.Objective;
import io.sparkgpt.model.StepRunner;
import io.sparkgpt.model.TrainConfig;
import io.sparkgpt.model.TrainingRun;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.JavaSparkContext;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What the two parameter-averaging engines ({@link ParameterAveragingTrainer}'s and {@link
 * Dl4jSparkTrainer}'s) share as {@link TrainingRun.Engine}s whose unit is a round of K steps on N
 * workers: the token count, validation on the driver (the first {@code eval_batches * micro_batch}
 * examples of val, as the single-process trainer), the checkpoint's training state, the round
 * figures and the {@link ParameterAveragingTrainer.Result}. How a round runs is the subclass's.
 */
abstract class AveragingRounds implements TrainingRun.Engine {
  protected final JavaSparkContext sc;
  protected final TrainConfig tc;
  protected final ParameterAveragingTrainer.Options o;
  protected final TrainingData data;
  protected final Objective objective;
  protected final int n;
  protected final long firstStep;
  protected final List<Integer> workerIds = new ArrayList<>();
  protected final StepRunner driverRunner;
  protected final List<Batch> valBatches;
  private final long tokensBefore;
  private final long tokensPerStep;
  private final Map<String, Object> tsConfig;
  private final Path tokenizerFile;
  private final List<ParameterAveragingTrainer.RoundStats> stats = new ArrayList<>();
  private double lr;
  private double wallSum;
  private long tokensRun;

  /**
   * @param tsConfig the training settings checkpoints record
   */
  AveragingRounds(
      JavaSparkContext sc,
      TrainConfig tc,
      ParameterAveragingTrainer.Options o,
      TrainingData data,
      Objective objective,
      long firstStep,
      long tokensBefore,
      Map<String, Object> tsConfig,
      Path tokenizerFile) {
    this.sc = sc;
    this.tc = tc;
    this.o = o;
    this.data = data;
    this.objective = objective;
    this.n = o.workers();
    this.firstStep = firstStep;
    this.tokensBefore = tokensBefore;
    this.tokensPerStep =
        (long) n * tc.microBatch() * data.rowsPerExample() * tc.gradAccum() * data.seqLen();
    this.tsConfig = tsConfig;
    this.tokenizerFile = tokenizerFile;
    this.driverRunner =
        new StepRunner(
            tc.model(), data.seqLen(), tc.hyper(), tc.schedule(), tc.gradClip(), objective);
    this.valBatches = ParameterAveragingTrainer.valBatches(data, tc);
    for (int w = 0; w < n; w++) {
      workerIds.add(w);
    }
  }

  /** The optimizer step the run stands at. */
  abstract long step();

  /** The parameters after the last round. */
  abstract Map<String, INDArray> params();

  /** The optimizer state after the last round. */
  abstract AdamW.State optimizer();

  /** The number the next round gets (1 for the first of this call). */
  long nextRound() {
    return stats.size() + 1;
  }

  /**
   * Tokens trained on up to {@code step}: the run's history before this call, then this call's
   * steps.
   */
  long tokensAt(long step) {
    return tokensBefore + (step - firstStep) * tokensPerStep;
  }

  /** Adds a finished round's figures; {@code lr} is its last step's learning rate. */
  void finished(ParameterAveragingTrainer.RoundStats round) {
    stats.add(round);
    lr = round.lr();
    wallSum += round.wallMs();
    tokensRun += round.tokens();
  }

  @Override
  public TrainingRun.Validation validate() {
    if (valBatches.isEmpty()) {
      return null;
    }
    Map<String, INDArray> params = params();
    return new TrainingRun.Validation(
        driverRunner.evaluate(params, valBatches),
        objective.pairwise() ? driverRunner.pairwise(params, valBatches) : null,
        valBatches.size());
  }

  @Override
  public TrainingRun.Snapshot snapshot(TrainingRun.Unit unit, Double lastValLoss) {
    long step = step();
    long samples = step * tc.gradAccum() * (long) tc.microBatch() * n;
    Checkpoint.TrainingState ts =
        new Checkpoint.TrainingState(
            step,
            lr,
            samples,
            unit.tokens(),
            samples / data.trainSize(),
            tc.seed(),
            tc.dataSeed(),
            lastValLoss,
            tsConfig);
    return new TrainingRun.Snapshot(
        tc.model(), objective.head(), params(), optimizer(), ts, tokenizerFile);
  }

  /** The run's result once {@code run}'s loop has ended with {@code lastValLoss}. */
  ParameterAveragingTrainer.Result result(TrainingRun run, Double lastValLoss) {
    TrainingRun.Validation v = run.lastValidation();
    return new ParameterAveragingTrainer.Result(
        firstStep,
        step(),
        stats,
        lastValLoss,
        v == null ? null : v.accuracy(),
        v == null ? null : v.margin(),
        wallSum > 0 ? tokensRun / (wallSum / 1000) : 0,
        run.latestCheckpoint());
  }
}
