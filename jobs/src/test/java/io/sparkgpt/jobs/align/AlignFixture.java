package io.sparkgpt.jobs.align;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.jobs.Cli;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the alignment tests start from: a 512-token BPE tokenizer and a small model (d=64, L=2, H=2,
 * T=128) pretrained for a few rounds on Tiny Shakespeare, both made with the CLI.
 */
final class AlignFixture {
  static final ObjectMapper JSON = new ObjectMapper();

  private AlignFixture() {}

  static Path corpus() {
    return io.sparkgpt.tokenizer.Corpus.dir();
  }

  static Cli.Result ok(Cli.Result r) {
    assertEquals(0, r.code(), r.err());
    return r;
  }

  /** Trains the tokenizer and the base model under {@code tmp}; returns the base checkpoint. */
  static Path pretrainedBase(Path tmp, int steps) {
    String text = corpus().resolve("prose_en/tinyshakespeare.txt").toString();
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
            "128",
            "--val-fraction",
            "0.05"));
    Path run = tmp.resolve("base");
    ok(
        Cli.run(
            "pretrain",
            "--data",
            data.toString(),
            "--output",
            run.toString(),
            "--preset",
            "tiny",
            "--block-size",
            "128",
            "--d-model",
            "64",
            "--layers",
            "2",
            "--heads",
            "2",
            "--workers",
            "2",
            "--averaging-every",
            "4",
            "--batch-size",
            "8",
            "--steps",
            Integer.toString(steps),
            "--warmup",
            "4",
            "--lr",
            "3e-3",
            "--eval-batches",
            "2",
            "--no-verify"));
    return run.resolve("checkpoint");
  }

  static List<JsonNode> metrics(Path run) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (String line : Files.readAllLines(run.resolve("metrics.jsonl"), StandardCharsets.UTF_8)) {
      if (!line.isBlank()) {
        out.add(JSON.readTree(line));
      }
    }
    return out;
  }

  static List<Double> values(List<JsonNode> metrics, String key) {
    return metrics.stream().filter(m -> m.has(key)).map(m -> m.get(key).asDouble()).toList();
  }
}
