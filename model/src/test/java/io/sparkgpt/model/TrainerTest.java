package io.sparkgpt.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The single-process trainer on a real dataset (byte-level, written with the tokenizer module's
 * dataset writer).
 */
class TrainerTest {
  @TempDir Path tmp;

  private static GptConfig model() {
    return new GptConfig(257, 64, 64, 2, 4, 4, 0.0, true, true, "float32");
  }

  @Test
  void lossFallsWellBelowUnigramEntropy() throws IOException {
    String text = TestData.shakespeare(400_000);
    double unigram = TestData.unigramEntropy(text);
    Path data = TestData.byteDataset(tmp.resolve("data"), text, 64, 2000);
    Path run = tmp.resolve("run");
    List<String> log = new ArrayList<>();
    TrainConfig tc =
        TrainConfig.defaults(model())
            .withSteps(300, 30)
            .withLr(3e-3, 3e-4)
            .withBatch(16, 1)
            .withEval(100, 8)
            .withCheckpointEvery(0)
            .withLogEvery(50);
    Trainer.Result r;
    try (TokenDataset ds = TokenDataset.open(data)) {
      r =
          Trainer.train(
              tc,
              ds,
              run,
              s -> {
                log.add(s);
                System.out.println(s);
              });
    }
    System.out.printf(
        "unigram entropy %.3f nats, val loss %.3f after 300 steps, %.0f ms/step%n",
        unigram, r.lastValLoss(), r.meanMsPerStep());
    assertTrue(
        r.lastValLoss() < unigram - 0.7,
        "val loss " + r.lastValLoss() + " vs unigram entropy " + unigram);
    List<String> metrics = Files.readAllLines(run.resolve(Trainer.METRICS));
    assertEquals(300, metrics.stream().filter(l -> l.contains("\"loss\"")).count());
    assertEquals(3, metrics.stream().filter(l -> l.contains("\"val_loss\"")).count());
    assertTrue(
        metrics.get(0).contains("\"tokens_per_s\"") && metrics.get(0).contains("\"lr\""),
        metrics.get(0));
    byte[] png = Files.readAllBytes(run.resolve(Trainer.PLOT));
    assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(png, 4));
    assertTrue(png.length > 5000, "a real plot, " + png.length + " bytes");
    assertTrue(
        log.stream().anyMatch(l -> l.contains("tok/s") && l.contains("eta") && l.contains("lr")),
        String.join("\n", log));
    assertTrue(Files.isRegularFile(run.resolve("checkpoint/model.safetensors")));
    assertTrue(Files.isRegularFile(run.resolve("checkpoint/tokenizer.json")));
  }

  @Test
  void resumingContinuesTheSameLossCurve() throws IOException {
    String text = TestData.shakespeare(120_000);
    Path data = TestData.byteDataset(tmp.resolve("data"), text, 32, 1500);
    GptConfig m = model().withBlockSize(32);
    TrainConfig tc =
        TrainConfig.defaults(m)
            .withSteps(30, 5)
            .withBatch(4, 2)
            .withEval(10, 2)
            .withCheckpointEvery(15)
            .withLogEvery(10);
    try (TokenDataset ds = TokenDataset.open(data)) {
      Trainer.Result whole = Trainer.train(tc, ds, tmp.resolve("a"), s -> {});
      Trainer.Result first = Trainer.train(tc.withMaxSteps(15), ds, tmp.resolve("b"), s -> {});
      Trainer.Result rest = Trainer.train(tc, ds, tmp.resolve("b"), System.out::println);
      assertEquals(15, rest.firstStep());
      assertEquals(15, first.steps());
      assertEquals(15, rest.steps());
      for (int i = 0; i < 30; i++) {
        double resumed = i < 15 ? first.trainLosses().get(i) : rest.trainLosses().get(i - 15);
        assertEquals(whole.trainLosses().get(i), resumed, 1e-6, "step " + (i + 1));
      }
      assertEquals(whole.lastValLoss(), rest.lastValLoss(), 1e-6);
    }
    List<String> metrics = Files.readAllLines(tmp.resolve("b").resolve(Trainer.METRICS));
    assertEquals(30, metrics.stream().filter(l -> l.contains("\"loss\"")).count());
  }
}
