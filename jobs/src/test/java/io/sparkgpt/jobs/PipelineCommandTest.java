package io.sparkgpt.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgpt.model.Checkpoint;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `pipeline` on the bundled sample: every stage's output, then a rerun that skips or resumes each
 * stage.
 */
class PipelineCommandTest {
  @TempDir Path tmp;

  @Test
  void runsEveryStageAndResumes() throws Exception {
    Path work = tmp.resolve("work");
    String[] args = {
      "pipeline",
      "--master",
      "local[2]",
      "-i",
      Path.of("..", "sample").toString(),
      "-w",
      work.toString(),
      "--vocab-size",
      "320",
      "--steps",
      "8",
      "--batch-size",
      "4",
      "--workers",
      "2",
      "--averaging-every",
      "4",
      "--max-new-tokens",
      "8",
      "--prompt",
      "ROMEO:"
    };
    Cli.Result r = Cli.run(args);
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("kept 289"), "the clean report: " + r.out());
    assertTrue(Files.isRegularFile(work.resolve("tokenizer.json")));
    try (TokenDataset ds = TokenDataset.open(work.resolve("dataset"))) {
      assertEquals(320, ds.vocabSize());
      assertEquals(128, ds.seqLen(), "the tiny preset's context");
    }
    assertEquals(8, Checkpoint.load(work.resolve("run/checkpoint")).optimizer().step);
    assertTrue(Files.size(work.resolve("run/loss.png")) > 1000);
    assertTrue(r.out().contains("--- sample ---\nROMEO:"), r.out());
    assertTrue(r.out().contains("pipeline done"), r.out());

    Cli.Result again = Cli.run(args);
    assertEquals(0, again.code(), again.err());
    for (String stage : new String[] {"1/5 clean", "2/5 train-tokenizer", "3/5 tokenize"}) {
      assertTrue(again.err().contains("== " + stage + ": already done, skipped"), again.err());
    }
    assertTrue(again.err().contains("resuming from"), again.err());
    assertTrue(again.out().contains("trained to step 8"), again.out());
  }

  /**
   * -i as a mixture: each source cleaned and tokenized on its own, one tokenizer, pretrain on the
   * blend.
   */
  @Test
  void blendsSourcesByTokens() throws Exception {
    Path work = tmp.resolve("mix");
    Path sample = Path.of("..", "sample");
    // sources of many documents each: a text file is one document, which the val split may take
    // whole
    Cli.Result r =
        Cli.run(
            "pipeline",
            "--master",
            "local[2]",
            "-i",
            "wiki=" + sample.resolve("wiki.jsonl") + ":3",
            "-i",
            "code=" + sample.resolve("code.jsonl.gz") + ":1",
            "-w",
            work.toString(),
            "--vocab-size",
            "320",
            "--steps",
            "8",
            "--batch-size",
            "4",
            "--workers",
            "2",
            "--averaging-every",
            "4",
            "--max-new-tokens",
            "4");
    assertEquals(0, r.code(), r.err());
    for (String source : new String[] {"wiki", "code"}) {
      assertTrue(Files.isDirectory(work.resolve("clean").resolve(source)), source);
      assertTrue(Files.isRegularFile(work.resolve("clean-" + source + "-report.json")), source);
      try (TokenDataset ds = TokenDataset.open(work.resolve("dataset").resolve(source))) {
        assertEquals(320, ds.vocabSize(), "one tokenizer for both");
      }
    }
    assertTrue(r.err().contains("| mix wiki "), r.err());
    String metrics = Files.readString(work.resolve("run/metrics.jsonl"));
    assertTrue(metrics.contains("\"tokens_per_source\":{\"wiki\":"), metrics);
    assertTrue(Files.isRegularFile(work.resolve("run/report.html")));

    Cli.Result bad =
        Cli.run("pipeline", "-i", "en=" + sample.resolve("shakespeare.txt"), "-w", work.toString());
    assertEquals(2, bad.code(), bad.err());
    assertTrue(bad.err().contains("--input: source en has no weight"), bad.err());
  }
}
