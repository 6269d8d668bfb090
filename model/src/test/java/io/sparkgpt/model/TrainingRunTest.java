package io.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The shared run skeleton with an engine of "rounds" of 3 positions (as parameter averaging with K
 * = 3): the cadence of validation, plot and checkpoints in units, the metrics file, and what a
 * resumed run keeps.
 */
class TrainingRunTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final GptConfig TINY =
      new GptConfig(16, 8, 8, 1, 2, 4, 0.0, true, true, "float32");

  @TempDir Path tmp;

  /**
   * Rounds of up to 3 positions to {@code end}; train loss 10/position, validation loss 1/position.
   */
  private static final class Rounds implements TrainingRun.Engine {
    final long end;
    final Map<String, INDArray> params = GptModel.initParams(TINY, 1);
    final AdamW.State opt = AdamW.State.zeros(params);
    long position;
    long round;
    int validations;

    Rounds(long start, long end) {
      this.position = start;
      this.end = end;
    }

    @Override
    public TrainingRun.Unit advance() {
      position = Math.min(end, position + 3);
      round++;
      ObjectNode m = JSON.createObjectNode();
      m.put("step", position)
          .put("tokens", position * 100)
          .put("loss", 10.0 / position)
          .put("round", round);
      long at = position;
      return new TrainingRun.Unit(
          round,
          position,
          position * 100,
          m,
          10.0 / position,
          eta -> "round at " + at + " | eta " + eta);
    }

    @Override
    public TrainingRun.Validation validate() {
      validations++;
      return new TrainingRun.Validation(1.0 / position, null, 2);
    }

    @Override
    public TrainingRun.Snapshot snapshot(TrainingRun.Unit u, Double lastValLoss) {
      opt.step = position;
      return new TrainingRun.Snapshot(
          TINY,
          Head.NONE,
          params,
          opt,
          new Checkpoint.TrainingState(
              position, 1e-3, position, u.tokens(), 0, 1, 1, lastValLoss, Map.of("lr", 0.001)),
          null);
    }
  }

  private static List<JsonNode> lines(Path file) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (String l : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      out.add(JSON.readTree(l));
    }
    return out;
  }

  @Test
  void validatesPlotsAndCheckpointsOnTheUnitCadenceAndAtTheEnd() throws IOException {
    Path run = tmp.resolve("run");
    List<String> log = new ArrayList<>();
    Rounds rounds = new Rounds(0, 10); // positions 3, 6, 9, 10: rounds 1..4
    Double lastVal;
    try (TrainingRun tr = TrainingRun.open(run, "step", 0, 0, List.of(), log::add)) {
      lastVal = tr.loop(rounds, new TrainingRun.Cadence(0, 10, 2, 3, "test"), null);
      assertEquals(run.resolve("checkpoints/step-0000010"), tr.latestCheckpoint());
      assertEquals(0.1, tr.lastValidation().loss(), 1e-12);
    }
    assertEquals(0.1, lastVal, 1e-12);
    assertEquals(2, rounds.validations, "round 2 (every 2) and round 4 (the end)");
    List<JsonNode> m = lines(run.resolve(TrainingRun.METRICS));
    assertEquals(6, m.size(), m.toString());
    assertEquals(
        List.of(3L, 6L, 6L, 9L, 10L, 10L), m.stream().map(n -> n.path("step").asLong()).toList());
    assertEquals(1.0 / 6, m.get(2).path("val_loss").asDouble(), 1e-12);
    assertEquals(600, m.get(2).path("tokens").asLong());
    assertTrue(m.get(0).has("round") && !m.get(0).has("val_loss"), m.get(0).toString());
    byte[] png = Files.readAllBytes(run.resolve(TrainingRun.PLOT));
    assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(png, 4));
    // checkpoints after round 3 (every 3) and round 4 (the end), with the validation loss of the
    // time
    assertTrue(Files.isDirectory(run.resolve("checkpoints/step-0000009")));
    Checkpoint last = Checkpoint.load(run.resolve(Checkpoint.CURRENT));
    assertEquals(10, last.trainingState().step());
    assertEquals(0.1, last.trainingState().valLoss(), 1e-12);
    assertEquals(
        1.0 / 6,
        Checkpoint.load(run.resolve("checkpoints/step-0000009")).trainingState().valLoss(),
        1e-12);
    assertEquals(
        4, log.stream().filter(l -> l.startsWith("round at ")).count(), String.join("\n", log));
    assertTrue(log.contains("step 6 | val loss 0.1667 (2 batches)"), String.join("\n", log));
    assertTrue(
        log.stream().anyMatch(l -> l.startsWith("checkpoint ") && l.endsWith(" at step 9")),
        String.join("\n", log));
    assertTrue(
        log.stream().anyMatch(l -> l.startsWith("round at 10 | eta 0s")), String.join("\n", log));
  }

  @Test
  void aResumedRunDropsWhatCameAfterItsPositionAndRecordsChangedSettings() throws IOException {
    Path run = tmp.resolve("run");
    Files.createDirectories(run);
    Path metrics = run.resolve(TrainingRun.METRICS);
    Files.writeString(
        metrics,
        String.join(
                "\n",
                "{\"step\":3,\"tokens\":300,\"loss\":3.3}",
                "{\"step\":6,\"tokens\":600,\"loss\":1.6}",
                "{\"step\":6,\"tokens\":600,\"val_loss\":0.16}",
                "{\"step\":9,\"tokens\":900,\"loss\":1.1}",
                "{\"step\":10,\"tok")
            + "\n",
        StandardCharsets.UTF_8); // the last line cut by a crash
    try (TrainingRun tr =
        TrainingRun.open(run, "step", 6, 600, List.of("lr 0.001 -> 0.002"), s -> {})) {
      Double lastVal =
          tr.loop(new Rounds(6, 10), new TrainingRun.Cadence(6, 10, 0, 0, "test"), 0.16);
      assertEquals(0.1, lastVal, 1e-12);
    }
    List<JsonNode> m = lines(metrics);
    assertEquals(
        List.of(3L, 6L, 6L, 6L, 9L, 10L, 10L),
        m.stream().map(n -> n.path("step").asLong()).toList(),
        m.toString());
    assertEquals("lr 0.001 -> 0.002", m.get(3).path("config_change").get(0).asText());
    assertEquals(600, m.get(3).path("tokens").asLong());
    assertEquals(0.1, m.get(6).path("val_loss").asDouble(), 1e-12);

    // a fresh run (position 0) starts an empty file; a run with nothing left to do draws the plot
    // it lacks
    Files.writeString(
        metrics, "{\"step\":3,\"tokens\":300,\"loss\":3.3}\n", StandardOpenOption.APPEND);
    Files.delete(run.resolve(TrainingRun.PLOT));
    try (TrainingRun tr = TrainingRun.open(run, "step", 0, 0, List.of(), s -> {})) {
      assertNull(tr.loop(new Rounds(10, 10), new TrainingRun.Cadence(10, 10, 0, 0, "test"), null));
    }
    assertEquals(List.of(), Files.readAllLines(metrics));
    assertTrue(Files.size(run.resolve(TrainingRun.PLOT)) > 1000);
  }

  @Test
  void changedSettingsAreRefusedInOneLineUnlessAllowed() throws IOException {
    Rounds r = new Rounds(0, 3);
    Path dir = tmp.resolve("ck");
    Checkpoint.save(
        dir,
        TINY,
        r.params,
        r.opt,
        new Checkpoint.TrainingState(
            3, 1e-3, 3, 300, 0, 1, 1, null, Map.of("lr", 0.001, "batch_size", 4)),
        null);
    Checkpoint ck = Checkpoint.load(dir);
    Map<String, Object> now = Map.of("lr", 0.002, "batch_size", 4);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> TrainingRun.resumeChanges(ck, now, false));
    assertTrue(
        e.getMessage().contains("lr 0.001 -> 0.002")
            && e.getMessage().contains("--allow-config-change")
            && !e.getMessage().contains("\n"),
        e.getMessage());
    assertEquals(List.of("lr 0.001 -> 0.002"), TrainingRun.resumeChanges(ck, now, true));
    assertEquals(
        List.of(), TrainingRun.resumeChanges(ck, Map.of("lr", 0.001, "batch_size", 4), false));
    assertEquals(300, TrainingRun.tokensSeen(ck, 5));
  }

  @Test
  void resumesOnlyACheckpointOfTheSameModelAndHead() throws IOException {
    Path run = tmp.resolve("run");
    List<String> log = new ArrayList<>();
    assertNull(TrainingRun.resumable(run, TINY, Head.NONE, log::add));
    Rounds r = new Rounds(0, 3);
    r.opt.step = 3;
    Checkpoint.commit(
        run,
        TINY,
        Head.NONE,
        r.params,
        r.opt,
        new Checkpoint.TrainingState(3, 1e-3, 3, 300, 0, 1, 1, null, Map.of()),
        null,
        TrainingRun.KEEP_CHECKPOINTS);
    Checkpoint ck = TrainingRun.resumable(run, TINY, Head.NONE, log::add);
    assertEquals(3, ck.optimizer().step);
    assertTrue(
        log.contains("resuming from " + run.resolve("checkpoints/step-0000003") + " at step 3"),
        log.toString());
    IllegalArgumentException head =
        assertThrows(
            IllegalArgumentException.class,
            () -> TrainingRun.resumable(run, TINY, Head.REWARD, s -> {}));
    assertTrue(
        head.getMessage().contains("with head")
            && head.getMessage().contains("--no-resume")
            && !head.getMessage().contains("\n"),
        head.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> TrainingRun.resumable(run, TINY.withBlockSize(4), Head.NONE, s -> {}));
  }
}
