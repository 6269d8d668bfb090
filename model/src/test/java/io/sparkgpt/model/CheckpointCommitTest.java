package io.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import io.sparkgpt.tokenizer.dataset.DatasetFiles;
import io.sparkgpt.tokenizer.dataset.DatasetWriter;
import io.sparkgpt.tokenizer.dataset.Format;
import io.sparkgpt.tokenizer.dataset.Layout;
import io.sparkgpt.tokenizer.dataset.Manifest;
import io.sparkgpt.tokenizer.dataset.ShardWriter;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11, cases 7 and 6: a run killed between the steps of a checkpoint commit resumes from the
 * newest complete checkpoint without losing its metrics; a resume with other settings is refused
 * unless allowed, and then recorded.
 */
class CheckpointCommitTest {
  @TempDir Path tmp;
  TokenDataset ds;
  static final ObjectMapper JSON = new ObjectMapper();

  static final class SimulatedKill extends RuntimeException {
    SimulatedKill(String where) {
      super("killed at " + where);
    }
  }

  @BeforeEach
  void dataset() throws IOException {
    Tokenizer tok = Tokenizers.load("r50k_base");
    DatasetFiles files = DatasetFiles.local(tmp.resolve("data"));
    Manifest.TokenizerInfo info = DatasetWriter.writeTokenizer(files, tok, "r50k_base");
    Layout layout = Layout.of(Format.NATIVE, tok, 8, info.sha256(), "test");
    try (ShardWriter w = ShardWriter.create(files, Manifest.TRAIN, 0, layout)) {
      for (int i = 0; i < 60; i++) {
        w.addText(
            tok,
            "Line "
                + i
                + " of a generated text about rivers, stones and "
                + (i * 7 % 13)
                + " lanterns.");
      }
      w.commit();
    }
    Map<String, Integer> shards = new LinkedHashMap<>();
    shards.put(Manifest.TRAIN, 1);
    DatasetWriter.finish(files, layout, info, shards, 1.0, Map.of());
    ds = TokenDataset.open(tmp.resolve("data"));
  }

  @AfterEach
  void noHook() {
    Checkpoint.crashPoint = null;
    ds.close();
  }

  TrainConfig config(long steps) {
    GptConfig m = new GptConfig(ds.vocabSize(), 8, 8, 1, 2, 4, 0.0, true, true, "float32");
    return TrainConfig.defaults(m)
        .withBatch(2, 1)
        .withSteps(steps, 1)
        .withMaxSteps(steps)
        .withLr(1e-3, 1e-4)
        .withEval(0, 0)
        .withCheckpointEvery(2)
        .withLogEvery(1)
        .withSeeds(5, 5)
        .withThreads(1);
  }

  /**
   * Kills the run when {@code point} is reached while committing the checkpoint of {@code step}.
   */
  static void killAt(String point, long step) {
    Checkpoint.crashPoint =
        p -> {
          if (p.equals(point) && CURRENT_STEP[0] == step) { // earlier commits go through
            throw new SimulatedKill(p);
          }
        };
  }

  /**
   * The step the run last logged (it logs every step, before committing that step's checkpoint).
   */
  static final long[] CURRENT_STEP = new long[1];

  static List<JsonNode> metrics(Path run) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (String line : Files.readAllLines(run.resolve(Trainer.METRICS))) {
      out.add(JSON.readTree(line));
    }
    return out;
  }

  List<String> log = new ArrayList<>();

  Trainer.Result train(TrainConfig tc, Path run, boolean allow) throws IOException {
    return Trainer.train(
        tc,
        ds,
        run,
        allow,
        line -> {
          log.add(line);
          if (line.startsWith("step ") && line.contains("/")) {
            CURRENT_STEP[0] = Long.parseLong(line.substring(5, line.indexOf('/')));
          }
        });
  }

  @Test
  void killedBetweenWritingAStepAndSwitchingThePointerResumesFromTheNewestCompleteOne()
      throws IOException {
    Path whole = tmp.resolve("whole");
    Trainer.Result uninterrupted = train(config(6), whole, false);

    Path run = tmp.resolve("run");
    killAt("step-written", 4);
    assertThrows(SimulatedKill.class, () -> train(config(6), run, false));
    Checkpoint.crashPoint = null;
    // step-4 is complete but the pointer and the link still name step-2: a complete checkpoint
    // exists throughout
    assertEquals(run.resolve("checkpoints/step-0000002"), Checkpoint.latest(run));
    assertTrue(Files.isRegularFile(run.resolve("checkpoint/model.safetensors")));
    assertTrue(Files.isRegularFile(run.resolve("checkpoints/step-0000004/model.safetensors")));

    log.clear();
    Trainer.Result resumed = train(config(6), run, false);
    assertTrue(
        log.contains("resuming from " + run.resolve("checkpoints/step-0000004") + " at step 4"),
        log.toString());
    assertEquals(4, resumed.firstStep());
    // the metrics of steps 1..4 were kept, not overwritten by a restart from step 0
    List<Long> steps = metrics(run).stream().map(n -> n.get("step").asLong()).toList();
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), steps);
    assertEquals(uninterrupted.trainLosses().subList(4, 6), resumed.trainLosses());
    assertEquals(run.resolve("checkpoints/step-0000006"), Checkpoint.latest(run));
    assertEquals(
        run.resolve("checkpoints/step-0000006").toRealPath(),
        run.resolve("checkpoint").toRealPath());
    assertEquals(
        List.of("step-0000002", "step-0000004", "step-0000006"),
        Checkpoint.steps(run).stream().map(p -> p.getFileName().toString()).toList());
  }

  @Test
  void killedAfterThePointerSwitchAndADamagedNewestStepFallBack() throws IOException {
    Path run = tmp.resolve("run");
    killAt("pointer-switched", 4);
    assertThrows(SimulatedKill.class, () -> train(config(6), run, false));
    Checkpoint.crashPoint = null;
    assertEquals(run.resolve("checkpoints/step-0000004"), Checkpoint.latest(run));
    Files.delete(run.resolve("checkpoints/step-0000004/model.safetensors")); // damaged afterwards
    log.clear();
    Trainer.Result resumed = train(config(6), run, false);
    assertEquals(2, resumed.firstStep(), log.toString());
    assertTrue(
        log.stream()
            .anyMatch(l -> l.startsWith("skipping " + run.resolve("checkpoints/step-0000004"))),
        log.toString());
  }

  @Test
  void resumeWithOtherSettingsIsRefusedUnlessAllowedAndThenRecorded() throws IOException {
    Path run = tmp.resolve("run");
    train(config(4), run, false);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> train(config(6).withLr(2e-3, 1e-4).withBatch(4, 1), run, false));
    assertFalse(e.getMessage().contains("\n"));
    assertTrue(
        e.getMessage()
            .contains(
                "was written with other settings (max_lr 0.001 -> 0.002, micro_batch 2 -> 4)"),
        e.getMessage());
    // extending the run is no change
    train(config(5), run, false);

    Trainer.Result r = train(config(7).withLr(2e-3, 1e-4).withBatch(4, 1), run, true);
    assertEquals(5, r.firstStep()); // the last step of a run is always checkpointed
    List<JsonNode> m = metrics(run);
    JsonNode change = m.stream().filter(n -> n.has("config_change")).findFirst().orElseThrow();
    assertEquals(5, change.get("step").asLong());
    assertEquals(
        "[\"max_lr 0.001 -> 0.002\",\"micro_batch 2 -> 4\"]",
        change.get("config_change").toString());
    // tokens continue from the history: 5 steps of 2 x 8 tokens, then steps of 4 x 8
    Map<Long, Long> tokens = new LinkedHashMap<>();
    m.stream()
        .filter(n -> n.has("loss"))
        .forEach(n -> tokens.put(n.get("step").asLong(), n.get("tokens").asLong()));
    assertEquals(80L, tokens.get(5L));
    assertEquals(80L + 32, tokens.get(6L));
    assertEquals(80L + 2 * 32, tokens.get(7L));
  }
}
