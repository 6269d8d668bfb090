package io.sparkgpt.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.jobs.Cli;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The single-machine path end to end: train-tokenizer, tokenize, train-local, generate, on real
 * text.
 */
class TrainAndGenerateCommandsTest {
  @TempDir Path tmp;

  static void ok(Cli.Result r) {
    assertEquals(0, r.code(), r.err());
  }

  @Test
  void trainsOnATokenizedCorpusResumesAndGenerates() throws Exception {
    Path corpus = io.sparkgpt.tokenizer.Corpus.dir();
    String text = corpus.resolve("prose_en/tinyshakespeare.txt").toString();
    Path tok = tmp.resolve("tokenizer.json");
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
    Path data = tmp.resolve("data");
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
            data.toString(),
            "--seq-len",
            "64",
            "--val-fraction",
            "0.05"));

    Path run = tmp.resolve("run");
    List<String> train =
        new ArrayList<>(
            List.of(
                "train-local",
                "--data",
                data.toString(),
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
                "--batch-size",
                "8",
                "--warmup",
                "5",
                "--lr",
                "3e-3",
                "--eval-every",
                "10",
                "--eval-batches",
                "4",
                "--checkpoint-every",
                "10",
                "--log-every",
                "5",
                "--threads",
                "2"));
    List<String> first = new ArrayList<>(train);
    first.addAll(List.of("--steps", "40"));
    Cli.Result r = Cli.run(first.toArray(String[]::new));
    ok(r);
    assertTrue(r.err().contains("tok/s") && r.err().contains("eta"), r.err());
    assertTrue(Files.size(run.resolve("loss.png")) > 1000, "a real plot");
    List<JsonNode> metrics = metrics(run);
    double firstLoss =
        metrics.stream().filter(m -> m.has("loss")).findFirst().get().get("loss").asDouble();
    double lastVal = lastValue(metrics, "val_loss");
    assertTrue(
        lastVal < firstLoss - 0.5,
        "validation loss " + lastVal + " fell well below the first " + firstLoss);

    // Resuming continues from the checkpoint at step 40.
    List<String> more = new ArrayList<>(train);
    more.addAll(List.of("--steps", "50"));
    Cli.Result resumed = Cli.run(more.toArray(String[]::new));
    ok(resumed);
    assertTrue(resumed.out().contains("steps 40..50"), resumed.out());

    Cli.Result g =
        Cli.run(
            "generate",
            "--checkpoint",
            run.resolve("checkpoint").toString(),
            "--prompt",
            "ROMEO:",
            "--max-new-tokens",
            "30",
            "--temperature",
            "0");
    ok(g);
    assertTrue(g.out().startsWith("ROMEO:") && g.out().length() > "ROMEO:".length() + 5, g.out());
    assertTrue(g.err().contains("ms/token"), g.err());
    Cli.Result again =
        Cli.run(
            "generate",
            "--checkpoint",
            run.resolve("checkpoint").toString(),
            "--prompt",
            "ROMEO:",
            "--max-new-tokens",
            "30",
            "--temperature",
            "0");
    assertEquals(g.out(), again.out(), "greedy decoding is deterministic");

    // A truncated weights file is a one-line error, not a stack trace.
    Path broken = tmp.resolve("broken");
    Files.createDirectories(broken);
    try (var files = Files.list(run.resolve("checkpoint"))) {
      for (Path f : files.toList()) {
        Files.copy(f, broken.resolve(f.getFileName()));
      }
    }
    try (RandomAccessFile f =
        new RandomAccessFile(broken.resolve("model.safetensors").toFile(), "rw")) {
      f.setLength(f.length() / 2);
    }
    Cli.Result bad = Cli.run("generate", "--checkpoint", broken.toString(), "--prompt", "x");
    assertEquals(2, bad.code(), bad.err());
    assertEquals(1, bad.err().strip().split("\n").length, bad.err());
    assertEquals(
        2,
        Cli.run(
                "train-local",
                "--data",
                tmp.resolve("none").toString(),
                "--output",
                tmp.resolve("r2").toString())
            .code());
  }

  static List<JsonNode> metrics(Path run) throws Exception {
    ObjectMapper m = new ObjectMapper();
    List<JsonNode> out = new ArrayList<>();
    for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) {
      out.add(m.readTree(line));
    }
    return out;
  }

  static double lastValue(List<JsonNode> metrics, String key) {
    double v = Double.NaN;
    for (JsonNode m : metrics) {
      if (m.has(key) && !m.get(key).isNull()) {
        v = m.get(key).asDouble();
      }
    }
    return v;
  }
}
