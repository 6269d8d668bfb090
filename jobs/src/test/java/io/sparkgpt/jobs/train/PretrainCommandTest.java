package io.sparkgpt.jobs.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkgpt.jobs.Cli;
import io.sparkgpt.model.Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@code pretrain} (parameter averaging on Spark) end to end on real text: a 512-token BPE
 * tokenizer, a tiny model (d=64, L=2, H=2, T=64), embedded Spark.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PretrainCommandTest {
  @TempDir static Path tmp;
  static Path data;

  static void ok(Cli.Result r) {
    assertEquals(0, r.code(), r.err());
  }

  @BeforeAll
  static void dataset() {
    data = dataset(tmp);
  }

  /**
   * A 512-token BPE tokenizer trained on tinyshakespeare, and the text tokenized into samples of 64
   * tokens.
   */
  static Path dataset(Path dir) {
    Path corpus = io.sparkgpt.tokenizer.Corpus.dir();
    String text = corpus.resolve("prose_en/tinyshakespeare.txt").toString();
    Path tok = dir.resolve("tokenizer.json");
    ok(
        Cli.run(
            "train-tokenizer",
            "--master",
            "local[2]",
            "-i",
            text,
            "--doc-split",
            "blank-line",
            "-o",
            tok.toString(),
            "--vocab-size",
            "512"));
    Path out = dir.resolve("data");
    ok(
        Cli.run(
            "tokenize",
            "--master",
            "local[2]",
            "-i",
            text,
            "--doc-split",
            "blank-line",
            "-t",
            tok.toString(),
            "-o",
            out.toString(),
            "--seq-len",
            "64",
            "--val-fraction",
            "0.05"));
    return out;
  }

  static List<String> args(Path run, int workers, int k, int batch, int steps, String... more) {
    return args(data.toString(), run, workers, k, batch, steps, more);
  }

  static List<String> args(
      Path dataset, Path run, int workers, int k, int batch, int steps, String... more) {
    return args(dataset.toString(), run, workers, k, batch, steps, more);
  }

  /**
   * pretrain arguments for the tiny model (d=64, L=2, H=2, T=64) on the dataset at {@code
   * dataLocation}.
   */
  static List<String> args(
      String dataLocation, Path run, int workers, int k, int batch, int steps, String... more) {
    List<String> a =
        new ArrayList<>(
            List.of(
                "pretrain",
                "--data",
                dataLocation,
                "--output",
                run.toString(),
                "--preset",
                "tiny",
                "--block-size",
                "64",
                "--d-model",
                "64",
                "--layers",
                "2",
                "--heads",
                "2",
                "--workers",
                Integer.toString(workers),
                "--averaging-every",
                Integer.toString(k),
                "--batch-size",
                Integer.toString(batch),
                "--steps",
                Integer.toString(steps),
                "--warmup",
                "5",
                "--lr",
                "3e-3",
                "--eval-batches",
                "4",
                "--no-verify"));
    a.addAll(List.of(more));
    return a;
  }

  static Cli.Result pretrain(List<String> a) {
    Cli.Result r = Cli.run(a.toArray(String[]::new));
    ok(r);
    return r;
  }

  static List<JsonNode> rounds(Path run) throws Exception {
    return TrainAndGenerateCommandsTest.metrics(run).stream().filter(m -> m.has("loss")).toList();
  }

  /**
   * K=1, 2 workers of batch 4 against 1 worker of batch 8 over the same samples (the data order
   * makes step s use the same 8 samples in both). The first step's loss is computed before any
   * update, from the same parameters, so it must agree to float precision. Later steps differ only
   * through AdamW's nonlinearity (the averaged second moment is b2*v + (1-b2)*mean(g_w^2), not
   * (mean g_w)^2; the update is a mean of m_w/sqrt(v_w)) and per-worker clipping, which make the
   * averaged update slightly smaller: each loss within 2% (relative) of the synchronous run's over
   * 20 steps, and the mean absolute difference under 1%.
   */
  /**
   * Gradient averaging equals one worker with the union batch up to float summation order (the mean
   * of two per-worker mean gradients vs one batch's mean, rounded differently), which AdamW's
   * division by sqrt(v) amplifies where v is tiny; measured far below this bound.
   */
  static final double SYNC_TOLERANCE = 1e-4;

  @Test
  @Order(1)
  void averagingEveryStepTracksOneWorkerWithTheUnionBatch() throws Exception {
    Path two = tmp.resolve("k1-two");
    Path one = tmp.resolve("k1-one");
    long t0 = System.nanoTime();
    pretrain(args(two, 2, 1, 4, 20, "--eval-every", "100", "--checkpoint-every", "0"));
    long t1 = System.nanoTime();
    pretrain(args(one, 1, 1, 8, 20, "--eval-every", "100", "--checkpoint-every", "0"));
    long t2 = System.nanoTime();
    Path sync = tmp.resolve("k1-sync");
    pretrain(
        args(
            sync,
            2,
            1,
            4,
            20,
            "--eval-every",
            "100",
            "--checkpoint-every",
            "0",
            "--sync-gradients"));
    List<JsonNode> a = rounds(two);
    List<JsonNode> b = rounds(one);
    List<JsonNode> c = rounds(sync);
    assertEquals(20, c.size());
    double maxSync = 0;
    for (int i = 0; i < 20; i++) {
      double lc = c.get(i).get("loss").asDouble();
      double lb = b.get(i).get("loss").asDouble();
      maxSync = Math.max(maxSync, Math.abs(lc - lb) / lb);
    }
    System.out.printf(
        Locale.ROOT, "K=1 gradient averaging vs 1x8: max relative loss difference %.2e%n", maxSync);
    assertTrue(
        maxSync < SYNC_TOLERANCE, "gradient averaging is synchronous data parallelism: " + maxSync);
    assertEquals(20, a.size());
    assertEquals(20, b.size());
    assertEquals(
        b.get(0).get("loss").asDouble(),
        a.get(0).get("loss").asDouble(),
        1e-5,
        "step 1: same params, same samples");
    double sumRel = 0;
    StringBuilder table = new StringBuilder();
    for (int i = 0; i < 20; i++) {
      double la = a.get(i).get("loss").asDouble();
      double lb = b.get(i).get("loss").asDouble();
      double rel = Math.abs(la - lb) / lb;
      sumRel += rel;
      table.append(
          String.format(Locale.ROOT, "step %d: 2x4 %.5f 1x8 %.5f rel %.5f%n", i + 1, la, lb, rel));
      assertTrue(rel < 0.02, table.toString());
    }
    assertTrue(sumRel / 20 < 0.01, table.toString());
    System.out.print(table);
    System.out.printf(
        Locale.ROOT,
        "K=1 wall: 2 workers x B4 %.1f s, 1 worker x B8 %.1f s%n",
        (t1 - t0) / 1e9,
        (t2 - t1) / 1e9);
    System.out.println("K=1 2x4 " + split(a));
    System.out.println("K=1 1x8 " + split(b));
    System.out.println("K=1 2x4 gradients " + split(c));
  }

  @Test
  @Order(2)
  void trainsCheckpointsResumesDeterministicallyAndGenerates() throws Exception {
    Path full = tmp.resolve("k4-full");
    Cli.Result r =
        pretrain(args(full, 2, 4, 8, 24, "--eval-every", "2", "--checkpoint-every", "1"));
    assertTrue(
        r.err().contains("tok/s") && r.err().contains("eta") && r.err().contains("averaging"),
        r.err());
    assertTrue(r.out().contains("steps 0..24, 6 rounds"), r.out());
    List<JsonNode> ms = TrainAndGenerateCommandsTest.metrics(full);
    List<JsonNode> rs = rounds(full);
    assertEquals(6, rs.size());
    assertEquals(
        List.of(4L, 8L, 12L, 16L, 20L, 24L), rs.stream().map(m -> m.get("step").asLong()).toList());
    for (JsonNode m : rs) {
      for (String key :
          List.of(
              "tokens",
              "lr",
              "grad_norm",
              "ms",
              "tokens_per_s",
              "tokens_per_s_per_worker",
              "compute_ms",
              "data_ms",
              "averaging_ms")) {
        assertTrue(m.has(key), key + " in " + m);
      }
      assertEquals(m.get("step").asLong() * 2 * 8 * 64, m.get("tokens").asLong());
    }
    double firstLoss = rs.get(0).get("loss").asDouble();
    double lastVal = TrainAndGenerateCommandsTest.lastValue(ms, "val_loss");
    assertTrue(
        ms.stream().filter(m -> m.has("val_loss")).count() >= 3, "validation every 2 rounds");
    assertTrue(
        lastVal < firstLoss - 0.5,
        "validation loss " + lastVal + " fell well below the first rounds' " + firstLoss);
    assertTrue(Files.size(full.resolve("loss.png")) > 1000, "a real plot");
    try (var s = Files.list(full.resolve("checkpoints"))) {
      assertEquals(
          List.of("latest", "step-0000016", "step-0000020", "step-0000024"),
          s.map(p -> p.getFileName().toString()).sorted().toList(),
          "the last 3 kept, and the pointer to the newest");
    }

    // Stopped after 16 steps (same schedule), resumed to 24: the same parameters as the
    // uninterrupted run. This
    // run reads the dataset by URI, through Hadoop's FileSystem and the executors' local copy: the
    // same samples.
    Path split = tmp.resolve("k4-split");
    String uri = data.toUri().toString();
    assertTrue(uri.startsWith("file:/"), uri);
    pretrain(
        args(
            uri,
            split,
            2,
            4,
            8,
            16,
            "--eval-every",
            "2",
            "--checkpoint-every",
            "1",
            "--decay-steps",
            "24"));
    Cli.Result resumed =
        pretrain(args(uri, split, 2, 4, 8, 24, "--eval-every", "2", "--checkpoint-every", "1"));
    assertTrue(resumed.out().contains("steps 16..24, 2 rounds"), resumed.out());
    assertTrue(resumed.err().contains("resuming from"), resumed.err());
    Checkpoint a = Checkpoint.load(full.resolve("checkpoint"));
    Checkpoint b = Checkpoint.load(split.resolve("checkpoint"));
    assertEquals(24, a.optimizer().step);
    assertEquals(24, b.optimizer().step);
    for (Map.Entry<String, INDArray> e : a.params().entrySet()) {
      assertArrayEquals(
          e.getValue().data().asFloat(),
          b.params().get(e.getKey()).data().asFloat(),
          0f,
          e.getKey());
      assertArrayEquals(
          a.optimizer().v.get(e.getKey()).data().asFloat(),
          b.optimizer().v.get(e.getKey()).data().asFloat(),
          0f,
          "exp_avg_sq." + e.getKey());
    }
    List<JsonNode> ra = rounds(full);
    List<JsonNode> rb = rounds(split);
    assertEquals(ra.size(), rb.size());
    for (int i = 0; i < ra.size(); i++) {
      assertEquals(
          ra.get(i).get("loss").asDouble(),
          rb.get(i).get("loss").asDouble(),
          0.0,
          "round " + (i + 1));
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
    ok(g);
    assertTrue(g.out().startsWith("ROMEO:") && g.out().length() > "ROMEO:".length() + 5, g.out());
    System.out.println("K=4 2x8 " + split(rs));
  }

  @Test
  @Order(3)
  void userErrorsAreOneLineExitTwo() {
    Cli.Result missing =
        Cli.run(
            "pretrain",
            "--data",
            tmp.resolve("none").toString(),
            "--output",
            tmp.resolve("r-missing").toString());
    assertEquals(2, missing.code(), missing.err());
    assertEquals(1, missing.err().strip().split("\n").length, missing.err());
    assertTrue(missing.err().contains("no manifest.json"), missing.err());

    Cli.Result missingUri =
        Cli.run(
            "pretrain",
            "--data",
            tmp.resolve("none").toUri().toString(),
            "--output",
            tmp.resolve("r-missing").toString());
    assertEquals(2, missingUri.code(), missingUri.err());
    assertTrue(
        missingUri.err().strip().endsWith("no manifest.json (not a finished dataset)"),
        missingUri.err());

    Cli.Result badFlag =
        Cli.run(
            "pretrain",
            "--data",
            data.toString(),
            "--output",
            tmp.resolve("r-bad").toString(),
            "--workers",
            "two");
    assertEquals(2, badFlag.code(), badFlag.err());
    assertEquals(1, badFlag.err().strip().split("\n").length, badFlag.err());

    Cli.Result badValue =
        Cli.run(
            "pretrain",
            "--data",
            data.toString(),
            "--output",
            tmp.resolve("r-bad").toString(),
            "--workers",
            "0");
    assertEquals(2, badValue.code(), badValue.err());
    assertEquals(1, badValue.err().strip().split("\n").length, badValue.err());

    Cli.Result badEngine =
        Cli.run(
            "pretrain",
            "--data",
            data.toString(),
            "--output",
            tmp.resolve("r-bad").toString(),
            "--engine",
            "magic");
    assertEquals(2, badEngine.code(), badEngine.err());
  }

  static String split(List<JsonNode> rows) {
    return String.format(
        Locale.ROOT,
        "medians: %.0f ms/round, compute %.0f, data %.0f, averaging+overhead %.0f, "
            + "%.0f tok/s (%.0f per worker)",
        median(rows, "ms"),
        median(rows, "compute_ms"),
        median(rows, "data_ms"),
        median(rows, "averaging_ms"),
        median(rows, "tokens_per_s"),
        median(rows, "tokens_per_s_per_worker"));
  }

  static double median(List<JsonNode> rows, String key) {
    double[] v = rows.stream().mapToDouble(m -> m.get(key).asDouble()).sorted().toArray();
    return v.length == 0 ? Double.NaN : v[v.length / 2];
  }
}
