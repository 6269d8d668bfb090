package io.sparkgpt.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The run skeleton every trainer shares (the single-process {@link Trainer}; in the cluster module
 * parameter averaging, the DL4J Spark engine and PPO): the loop over units of work, the evaluation
 * and checkpoint cadence, {@code metrics.jsonl}, {@code loss.png}, checkpoints with retention
 * ({@link Checkpoint#commit}), resume bookkeeping and the ETA of the progress line. What a unit is
 * (one step, a round of K averaged steps, a PPO iteration), how it is run and what it reports is
 * the {@link Engine}'s.
 *
 * <pre>{@code
 * try (TrainingRun run = TrainingRun.open(runDir, "step", resumedAt, tokensBefore, changes, log)) {
 *     TrainingRun.Cadence cadence = new TrainingRun.Cadence(start, maxSteps, evalEvery, checkpointEvery, title);
 *     Double lastVal = run.loop(engine, cadence, lastValOfTheCheckpoint);
 * }
 * }</pre>
 *
 * <p>After each unit: its metrics line is appended, its progress line logged (the ETA is the wall
 * time of the units so far per position, times the positions left); then, when the unit's count is
 * a multiple of {@code evalEvery} or the run has reached its end, the engine's validation is
 * recorded ({@code step}, {@code tokens}, {@code val_loss}, and {@code val_accuracy}, {@code
 * val_margin} for pairwise objectives) and {@code loss.png} redrawn; when the count is a multiple
 * of {@code checkpointEvery} or at the end, a checkpoint is committed (the last {@link
 * #KEEP_CHECKPOINTS} step folders are kept).
 */
public final class TrainingRun implements Closeable {
  public static final String METRICS = "metrics.jsonl";
  public static final String PLOT = "loss.png";

  /** Step folders kept under {@code RUN_DIR/checkpoints}. */
  public static final int KEEP_CHECKPOINTS = 3;

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * What one unit of work did. {@code count}: the unit's number for the cadence (the step for a
   * single-process run, the round, the iteration); {@code position}: where the run stands after it
   * (the step, or the iteration), compared with the run's end; {@code tokens}: trained on so far,
   * the x axis of the plot; {@code metrics}: its {@code metrics.jsonl} line; {@code trainLoss}: its
   * point on the plot (null: none); {@code progress}: its console line given the ETA text (null: no
   * line for this unit).
   */
  public record Unit(
      long count,
      long position,
      long tokens,
      ObjectNode metrics,
      Double trainLoss,
      Function<String, String> progress) {}

  /**
   * A validation: its loss, the pairwise accuracy and margin of a reward model or DPO (else null),
   * its batches.
   */
  public record Validation(double loss, StepRunner.Pairwise pairs, int batches) {
    public Double accuracy() {
      return pairs == null ? null : pairs.accuracy();
    }

    public Double margin() {
      return pairs == null ? null : pairs.meanMargin();
    }
  }

  /** What a checkpoint commits. */
  public record Snapshot(
      GptConfig config,
      Head head,
      Map<String, INDArray> params,
      AdamW.State optimizer,
      Checkpoint.TrainingState state,
      Path tokenizerFile) {}

  /**
   * The run's length and cadence: positions {@code start} (0, or where it resumed) to {@code end};
   * validation and {@code loss.png} every {@code evalEvery} units, a checkpoint every {@code
   * checkpointEvery} (0: only at the end); {@code plotTitle} null: no plot.
   */
  public record Cadence(
      long start, long end, int evalEvery, int checkpointEvery, String plotTitle) {
    static boolean due(int every, long count, boolean last) {
      return (every > 0 && count % every == 0) || last;
    }
  }

  /** A trainer's way of running its units: the strategy {@link #loop} calls. */
  public interface Engine {
    /** Runs the next unit of work from where the run stands. */
    Unit advance() throws IOException;

    /** The validation of the current parameters, or null when the run has none. */
    default Validation validate() throws IOException {
      return null;
    }

    /** The state a checkpoint after {@code unit} commits, with the run's last validation loss. */
    Snapshot snapshot(Unit unit, Double lastValLoss) throws IOException;
  }

  private final Path runDir;
  private final String unitName;
  private final Consumer<String> log;
  private final BufferedWriter metrics;
  private final List<Double> trainTokens = new ArrayList<>();
  private final List<Double> trainLoss = new ArrayList<>();
  private final List<Double> valTokens = new ArrayList<>();
  private final List<Double> valLoss = new ArrayList<>();
  private Validation lastValidation;
  private Path latest;
  private long units;

  private TrainingRun(Path runDir, String unitName, Consumer<String> log) throws IOException {
    this.runDir = runDir;
    this.unitName = unitName;
    this.log = log;
    this.metrics =
        Files.newBufferedWriter(
            runDir.resolve(METRICS),
            StandardCharsets.UTF_8,
            StandardOpenOption.CREATE,
            StandardOpenOption.APPEND);
  }

  /**
   * Opens the run folder's {@code metrics.jsonl}: keeps the lines whose {@code unitName} field
   * ("step" or "iteration") is at most {@code resumedAt} (none for a fresh run, {@code resumedAt}
   * 0) and loads their points for the plot, then records the settings a resumed run changed ({@link
   * #resumeChanges}).
   */
  public static TrainingRun open(
      Path runDir,
      String unitName,
      long resumedAt,
      long tokensBefore,
      List<String> changes,
      Consumer<String> log)
      throws IOException {
    Files.createDirectories(runDir);
    List<String> kept = keepUpTo(runDir.resolve(METRICS), unitName, resumedAt);
    TrainingRun run = new TrainingRun(runDir, unitName, log);
    try {
      run.loadPoints(kept);
      run.recordConfigChange(resumedAt, tokensBefore, changes);
    } catch (IOException | RuntimeException e) {
      run.close();
      throw e;
    }
    return run;
  }

  /**
   * Runs the engine's units until the run reaches {@code cadence.end()}, recording each (see the
   * class comment).
   *
   * @param lastValLoss the validation loss to start from (a resumed checkpoint's, or null)
   * @return the last validation loss
   */
  public Double loop(Engine engine, Cadence cadence, Double lastValLoss) throws IOException {
    long position = cadence.start();
    double wallMs = 0;
    while (position < cadence.end()) {
      long t0 = System.nanoTime();
      Unit u = engine.advance();
      wallMs += (System.nanoTime() - t0) / 1e6;
      units++;
      position = u.position();
      if (u.metrics() != null) {
        writeLine(u.metrics());
      }
      if (u.trainLoss() != null) {
        trainTokens.add((double) u.tokens());
        trainLoss.add(u.trainLoss());
      }
      if (u.progress() != null) {
        double eta =
            (cadence.end() - position)
                / (double) Math.max(1, position - cadence.start())
                * (wallMs / 1000);
        log.accept(u.progress().apply(duration(eta)));
      }
      boolean last = position >= cadence.end();
      boolean evalNow = Cadence.due(cadence.evalEvery(), u.count(), last);
      if (evalNow) {
        Validation v = engine.validate();
        if (v != null) {
          record(v, position, u.tokens());
          lastValLoss = v.loss();
          lastValidation = v;
        }
      }
      metrics.flush();
      if (evalNow && cadence.plotTitle() != null) {
        plot(cadence.plotTitle());
      }
      if (Cadence.due(cadence.checkpointEvery(), u.count(), last)) {
        commit(engine.snapshot(u, lastValLoss));
      }
    }
    if (units == 0 && cadence.plotTitle() != null && !Files.exists(runDir.resolve(PLOT))) {
      plot("sparkgpt");
    }
    return lastValLoss;
  }

  /**
   * Records a validation of the starting parameters at step 0 (a fine-tuning run's base model), so
   * that the validation curve shows what training changed.
   */
  public void baseline(Validation v) throws IOException {
    record(v, 0, 0);
  }

  /** The last validation {@link #loop} recorded (null: none in this call). */
  public Validation lastValidation() {
    return lastValidation;
  }

  /**
   * The checkpoint this call committed last, or the run's {@code checkpoint/} when it committed
   * none.
   */
  public Path latestCheckpoint() {
    return latest != null ? latest : runDir.resolve(Checkpoint.CURRENT);
  }

  @Override
  public void close() throws IOException {
    metrics.close();
  }

  private void record(Validation v, long step, long tokens) throws IOException {
    ObjectNode n = JSON.createObjectNode();
    n.put("step", step).put("tokens", tokens).put("val_loss", v.loss());
    if (v.pairs() != null) {
      n.put("val_accuracy", v.pairs().accuracy()).put("val_margin", v.pairs().meanMargin());
    }
    writeLine(n);
    valTokens.add((double) tokens);
    valLoss.add(v.loss());
    log.accept(
        String.format(
            Locale.ROOT,
            "step %d | val loss %.4f%s (%d batches)",
            step,
            v.loss(),
            v.pairs() == null
                ? ""
                : String.format(
                    Locale.ROOT,
                    " | val pairwise accuracy %.3f, mean margin %.4f",
                    v.pairs().accuracy(),
                    v.pairs().meanMargin()),
            v.batches()));
  }

  private void plot(String title) throws IOException {
    LossPlot.write(runDir.resolve(PLOT), title, trainTokens, trainLoss, valTokens, valLoss);
  }

  private void commit(Snapshot s) throws IOException {
    latest =
        Checkpoint.commit(
            runDir,
            s.config(),
            s.head(),
            s.params(),
            s.optimizer(),
            s.state(),
            s.tokenizerFile(),
            KEEP_CHECKPOINTS);
    log.accept(
        "checkpoint "
            + latest
            + " (and "
            + runDir.resolve(Checkpoint.CURRENT)
            + ") at "
            + unitName
            + " "
            + s.state().step());
  }

  private void writeLine(ObjectNode n) throws IOException {
    metrics.write(JSON.writeValueAsString(n));
    metrics.newLine();
  }

  /** Writes a {@code config_change} line when a resumed run goes on with other settings. */
  private void recordConfigChange(long step, long tokens, List<String> changes) throws IOException {
    if (changes.isEmpty()) {
      return;
    }
    ObjectNode n = JSON.createObjectNode();
    n.put("step", step).put("tokens", tokens);
    changes.forEach(n.putArray("config_change")::add);
    writeLine(n);
    metrics.flush();
  }

  /** The plot's points of the metrics a resumed run kept. */
  private void loadPoints(List<String> kept) throws IOException {
    for (String line : kept) {
      JsonNode n = JSON.readTree(line);
      if (n.has("loss") && n.has("tokens")) {
        trainTokens.add(n.path("tokens").asDouble());
        trainLoss.add(n.path("loss").asDouble());
      } else if (n.has("val_loss")) {
        valTokens.add(n.path("tokens").asDouble());
        valLoss.add(n.path("val_loss").asDouble());
      }
    }
  }

  /**
   * Rewrites a JSON-lines file of a run with only the lines whose {@code key} is at most {@code
   * upTo} (none when {@code upTo} is 0; a line cut by a crash is dropped): a resumed run rewrites
   * what came after its checkpoint.
   *
   * @return the lines kept
   */
  public static List<String> keepUpTo(Path file, String key, long upTo) throws IOException {
    List<String> keep = new ArrayList<>();
    if (upTo > 0 && Files.isRegularFile(file)) {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        if (line.isBlank()) {
          continue;
        }
        JsonNode n;
        try {
          n = JSON.readTree(line);
        } catch (IOException e) {
          continue; // a line cut by a crash
        }
        if (n.path(key).asLong() <= upTo) {
          keep.add(line);
        }
      }
    }
    Files.write(file, keep, StandardCharsets.UTF_8);
    return keep;
  }

  /**
   * The newest complete checkpoint of the run ({@link Checkpoint#newest}), checked against the
   * run's model and head, and logged; null when there is none. Its settings are compared with the
   * run's by {@link #resumeChanges}.
   */
  public static Checkpoint resumable(Path runDir, GptConfig model, Head head, Consumer<String> log)
      throws IOException {
    Checkpoint ck = Checkpoint.newest(runDir, log);
    if (ck == null) {
      return null;
    }
    if (!ck.config().equals(model) || ck.head() != head) {
      throw new IllegalArgumentException(
          ck.dir()
              + " holds "
              + ck.config()
              + " with head "
              + ck.head().id()
              + ", the run asks for "
              + model
              + " with head "
              + head.id()
              + " (use another run folder or --no-resume)");
    }
    log.accept(
        String.format(Locale.ROOT, "resuming from %s at step %d", ck.dir(), ck.optimizer().step));
    return ck;
  }

  /**
   * The settings that differ from the checkpoint's ({@link Checkpoint#configChanges}) among {@code
   * before} (the checkpoint's; empty for an older checkpoint without them) and {@code now}; refused
   * unless {@code allow}. Shared by every trainer that resumes.
   *
   * @throws IllegalArgumentException (one line, listing them) when they differ and {@code allow} is
   *     false
   */
  public static List<String> resumeChanges(
      Checkpoint from, Map<String, Object> before, Map<String, Object> now, boolean allow) {
    List<String> changes = before.isEmpty() ? List.of() : Checkpoint.configChanges(before, now);
    if (!changes.isEmpty() && !allow) {
      throw new IllegalArgumentException(
          from.dir()
              + " was written with other settings ("
              + String.join(", ", changes)
              + "); rerun with the same settings, or --allow-config-change to go on with the new ones");
    }
    return changes;
  }

  /** As above against the training settings the checkpoint recorded. */
  public static List<String> resumeChanges(
      Checkpoint from, Map<String, Object> now, boolean allow) {
    Map<String, Object> before =
        from.trainingState() == null || from.trainingState().trainConfig() == null
            ? Map.of()
            : from.trainingState().trainConfig();
    return resumeChanges(from, before, now, allow);
  }

  /**
   * Tokens trained on up to the checkpoint, as it recorded them ({@code fallback} for an older
   * checkpoint).
   */
  public static long tokensSeen(Checkpoint from, long fallback) {
    return from.trainingState() != null && from.trainingState().tokensSeen() > 0
        ? from.trainingState().tokensSeen()
        : fallback;
  }

  public static double round(double v, int digits) {
    double f = Math.pow(10, digits);
    return Math.round(v * f) / f;
  }

  /** "42s", "3m07s", "2h05m": for ETAs. */
  public static String duration(double seconds) {
    long s = Math.round(seconds);
    if (s >= 3600) {
      return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
    }
    return s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + "s";
  }
}
