package io.sparkgpt.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkgpt.jobs.Cli;
import io.sparkgpt.model.Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@code pretrain --engine dl4j-spark} end to end on the same data and tiny model as {@link
 * PretrainCommandTest} (2 workers on local[2], K=4, batch 8): it trains, writes the averaging
 * engine's outputs, resumes, and {@code generate} runs on its checkpoint.
 */
class Dl4jSparkPretrainTest {
  @TempDir static Path tmp;
  static Path data;

  @BeforeAll
  static void dataset() {
    data = PretrainCommandTest.dataset(tmp);
  }

  static List<String> args(Path run, int steps, String... more) {
    List<String> a =
        new java.util.ArrayList<>(
            PretrainCommandTest.args(
                data,
                run,
                2,
                4,
                8,
                steps,
                "--engine",
                "dl4j-spark",
                "--eval-every",
                "2",
                "--checkpoint-every",
                "1"));
    a.addAll(List.of(more));
    return a;
  }

  @Test
  void trainsResumesAndGenerates() throws Exception {
    Path full = tmp.resolve("dl4j-full");
    Cli.Result r = PretrainCommandTest.pretrain(args(full, 16));
    assertTrue(
        r.err().contains("dl4j-spark parameter averaging") && r.err().contains("tok/s"), r.err());
    assertTrue(r.out().contains("steps 0..16, 4 rounds"), r.out());
    List<JsonNode> ms = TrainAndGenerateCommandsTest.metrics(full);
    List<JsonNode> rs = PretrainCommandTest.rounds(full);
    assertEquals(List.of(4L, 8L, 12L, 16L), rs.stream().map(m -> m.get("step").asLong()).toList());
    for (JsonNode m : rs) {
      for (String key :
          List.of(
              "step",
              "tokens",
              "loss",
              "lr",
              "ms",
              "tokens_per_s",
              "tokens_per_s_per_worker",
              "round",
              "loss_last_step",
              "workers")) {
        assertTrue(m.has(key), key + " in " + m);
      }
      assertEquals(m.get("step").asLong() * 2 * 8 * 64, m.get("tokens").asLong());
    }
    List<JsonNode> vals = ms.stream().filter(m -> m.has("val_loss")).toList();
    assertEquals(
        List.of(8L, 16L),
        vals.stream().map(m -> m.get("step").asLong()).toList(),
        "validation every 2 rounds");
    double firstLoss = rs.get(0).get("loss").asDouble();
    double lastVal = vals.get(vals.size() - 1).get("val_loss").asDouble();
    System.out.printf(
        Locale.ROOT,
        "dl4j-spark: first round loss %.4f, final val loss %.4f, %s%n",
        firstLoss,
        lastVal,
        PretrainCommandTest.median(rs, "ms") + " ms/round (median)");
    assertTrue(
        lastVal < firstLoss - 0.5,
        "validation loss " + lastVal + " fell well below the first round's " + firstLoss);
    assertTrue(Files.size(full.resolve("loss.png")) > 1000, "a real plot");
    try (var s = Files.list(full.resolve("checkpoints"))) {
      assertEquals(
          List.of("latest", "step-0000008", "step-0000012", "step-0000016"),
          s.map(p -> p.getFileName().toString()).sorted().toList(),
          "the last 3 kept, and the pointer to the newest");
    }
    Checkpoint a = Checkpoint.load(full.resolve("checkpoint"));
    assertEquals(16, a.optimizer().step);
    assertEquals("dl4j-spark", a.trainingState().trainConfig().get("engine"));

    // Stopped after 8 steps (same schedule), resumed to 16: the parameters and moments of the
    // uninterrupted run.
    Path split = tmp.resolve("dl4j-split");
    PretrainCommandTest.pretrain(args(split, 8, "--decay-steps", "16"));
    Cli.Result resumed = PretrainCommandTest.pretrain(args(split, 16));
    assertTrue(resumed.out().contains("steps 8..16, 2 rounds"), resumed.out());
    assertTrue(resumed.err().contains("resuming from"), resumed.err());
    Checkpoint b = Checkpoint.load(split.resolve("checkpoint"));
    assertEquals(16, b.optimizer().step);
    for (Map.Entry<String, INDArray> e : a.params().entrySet()) {
      String name = e.getKey();
      assertEquals(
          0.0, e.getValue().sub(b.params().get(name)).amaxNumber().doubleValue(), 1e-6, name);
      assertEquals(
          0.0,
          a.optimizer().v.get(name).sub(b.optimizer().v.get(name)).amaxNumber().doubleValue(),
          1e-9,
          "exp_avg_sq." + name);
    }

    Cli.Result g =
        Cli.run(
            "generate",
            "--checkpoint",
            full.resolve("checkpoint").toString(),
            "--prompt",
            "ROMEO:",
            "--max-new-tokens",
            "20",
            "--temperature",
            "0");
    PretrainCommandTest.ok(g);
    assertTrue(g.out().startsWith("ROMEO:") && g.out().length() > "ROMEO:".length() + 5, g.out());
  }

  @Test
  void rejectsWhatDl4jCannotDo() {
    for (String[] bad :
        List.of(new String[] {"--grad-accum", "2"}, new String[] {"--dropout", "0.1"})) {
      List<String> a = args(tmp.resolve("dl4j-bad"), 4, bad);
      Cli.Result r = Cli.run(a.toArray(String[]::new));
      assertEquals(2, r.code(), r.err());
      assertEquals(1, r.err().strip().split("\n").length, r.err());
    }
  }
}
