package io.sparkgpt.jobs.inspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.jobs.Cli;
import io.sparkgpt.jobs.Cli.Result;
import io.sparkgpt.tokenizer.dataset.Manifest;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * inspect on outputs that the real commands produce from the bundled sample/: a clean output
 * (Parquet) and its rejected folder, a token dataset, and a short training run; then the same
 * things damaged.
 */
class InspectCommandTest {
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path tmp;

  static Path clean;
  static Path rejected;
  static JsonNode cleanReport;
  static Path tokenizer;
  static Path dataset;

  static Result ok(Result r) {
    assertEquals(0, r.code(), () -> "failed: " + r.err() + r.out());
    return r;
  }

  static Result inspect(String... args) {
    List<String> all = new ArrayList<>(List.of("inspect"));
    all.addAll(List.of(args));
    return Cli.run(all.toArray(String[]::new));
  }

  @BeforeAll
  static void produce() throws IOException {
    String sample = Path.of("..", "sample").toString();
    clean = tmp.resolve("clean");
    rejected = tmp.resolve("rejected");
    Path report = tmp.resolve("clean-report.json");
    ok(
        Cli.run(
            "clean",
            "--master",
            "local[2]",
            "-i",
            sample,
            "-o",
            clean.toString(),
            "--rejected",
            rejected.toString(),
            "--report",
            report.toString()));
    cleanReport = JSON.readTree(report.toFile());
    tokenizer = tmp.resolve("tokenizer.json");
    ok(
        Cli.run(
            "train-tokenizer",
            "--master",
            "local[2]",
            "-i",
            clean.toString(),
            "-o",
            tokenizer.toString(),
            "--vocab-size",
            "512"));
    dataset = tmp.resolve("dataset");
    ok(
        Cli.run(
            "tokenize",
            "--master",
            "local[2]",
            "-i",
            clean.toString(),
            "-t",
            tokenizer.toString(),
            "-o",
            dataset.toString(),
            "--seq-len",
            "64",
            "--val-fraction",
            "0.05",
            "--shard-tokens",
            "100000"));
  }

  static long dropped(String step, String rule) {
    for (JsonNode s : cleanReport.get("steps")) {
      if (s.get("step").asText().equals(step)) {
        return s.get("dropped").path(rule).asLong();
      }
    }
    throw new AssertionError(step);
  }

  @Test
  void summarisesACleanOutputAsTextAndJson() throws IOException {
    JsonNode s =
        JSON.readTree(
            ok(inspect(clean.toString(), "--json", "--tokenizer", tokenizer.toString())).out());
    assertEquals("clean_output", s.get("kind").asText());
    assertEquals("parquet", s.get("format").asText());
    assertEquals(cleanReport.get("kept_docs").asLong(), s.get("documents").asLong());
    assertEquals(cleanReport.get("kept_bytes").asLong(), s.get("text_bytes").asLong());
    long zh = s.get("by_language").get("zh").get("documents").asLong();
    assertEquals(cleanReport.get("languages").get("zh").asLong(), zh);
    assertTrue(s.get("by_content").get("code").get("documents").asLong() > 0);
    long docs = 0;
    for (JsonNode c : s.get("by_content")) {
      docs += c.get("documents").asLong();
    }
    assertEquals(s.get("documents").asLong(), docs);
    assertTrue(s.get("tokens").asLong() > s.get("documents").asLong());

    String text = ok(inspect(clean.toString())).out();
    assertTrue(
        text.contains(
            "documents: "
                + String.format(
                    java.util.Locale.ROOT, "%,d", cleanReport.get("kept_docs").asLong())),
        text);
    assertTrue(text.contains("by_language:"), text);
  }

  @Test
  void randomDocumentsAreReproducibleForASeed() throws IOException {
    String a = ok(inspect(clean.toString(), "--docs", "3", "--seed", "7")).out();
    assertEquals(a, ok(inspect(clean.toString(), "--docs", "3", "--seed", "7")).out());
    assertNotEquals(a, ok(inspect(clean.toString(), "--docs", "3", "--seed", "8")).out());
    assertEquals(3, a.lines().filter(l -> l.startsWith("=== document ")).count(), a);
    Set<String> ids = new HashSet<>();
    ok(inspect(clean.toString(), "--json")); // readable
    a.lines().filter(l -> l.startsWith("id: ")).forEach(l -> ids.add(l.substring(4)));
    assertEquals(3, ids.size());
    assertTrue(a.lines().anyMatch(l -> l.startsWith("language: ")), a);
    assertTrue(a.lines().anyMatch(l -> l.startsWith("metadata: ")), a);
  }

  @Test
  void listsRejectedDocumentsByReason() throws IOException {
    long near = dropped("fuzzy_dedup", "near_duplicate");
    assertTrue(near > 0);
    String out = ok(inspect(rejected.toString(), "--rejected", "near_duplicate")).out();
    assertEquals(near, out.lines().filter(l -> l.startsWith("=== rejected ")).count(), out);
    assertTrue(
        out.lines()
            .filter(l -> l.startsWith("rule: "))
            .allMatch(l -> l.equals("rule: near_duplicate")));
    long quality = 0;
    for (JsonNode n : cleanReport.get("steps").get(2).get("dropped")) {
      quality += n.asLong();
    }
    String byStep = ok(inspect(rejected.toString(), "--rejected", "quality")).out();
    assertEquals(quality, byStep.lines().filter(l -> l.startsWith("=== rejected ")).count());

    JsonNode s = JSON.readTree(ok(inspect(rejected.toString(), "--json")).out());
    assertEquals("rejected", s.get("kind").asText());
    assertEquals(
        near, s.get("by_reason").get("fuzzy_dedup/near_duplicate").get("documents").asLong());

    Result none = inspect(rejected.toString(), "--rejected", "no_such_reason");
    assertEquals(2, none.code());
    assertTrue(none.err().contains("fuzzy_dedup/near_duplicate"), none.err());
  }

  @Test
  void summarisesADatasetAndDecodesASampleWithItsDocumentBoundaries() throws IOException {
    Manifest m;
    try (TokenDataset ds = TokenDataset.open(dataset)) {
      m = ds.manifest();
      JsonNode s = JSON.readTree(ok(inspect(dataset.toString(), "--json")).out());
      assertEquals("dataset", s.get("kind").asText());
      assertEquals(
          m.split("train").documents(), s.get("splits").get("train").get("documents").asLong());
      assertEquals(m.split("train").tokens(), s.get("splits").get("train").get("tokens").asLong());
      assertEquals(
          m.split("val").textBytes(), s.get("splits").get("val").get("text_bytes").asLong());

      // A sample that ends at least one document: its decoded text shows as many boundaries as it
      // has EOTs.
      int[] tokens = new int[ds.sampleTokens()];
      int i = 0;
      int eots = 0;
      for (; i < ds.numSamples("train"); i++) {
        ds.sample("train", i, tokens);
        eots = (int) java.util.Arrays.stream(tokens).filter(t -> t == ds.eotId()).count();
        if (eots >= 1) {
          break;
        }
      }
      String out = ok(inspect(dataset.toString(), "--sample", String.valueOf(i))).out();
      String body = out.substring(out.indexOf('\n') + 1);
      assertEquals(
          eots,
          body.split(java.util.regex.Pattern.quote(DatasetInspector.BOUNDARY.strip()), -1).length
              - 1,
          out);
      assertTrue(out.startsWith("sample " + i + " of train"), out);
    }
    Result bad = inspect(dataset.toString(), "--sample", "999999999");
    assertEquals(2, bad.code());
  }

  @Test
  void histogramOfDocumentLengthsInTokens() throws IOException {
    Path png = tmp.resolve("lengths.png");
    String out = ok(inspect(dataset.toString(), "--histogram", png.toString())).out();
    Manifest m;
    try (TokenDataset ds = TokenDataset.open(dataset, false)) {
      m = ds.manifest();
    }
    long documents = m.split("train").documents() + m.split("val").documents();
    assertTrue(out.contains(String.format(java.util.Locale.ROOT, "%,d documents", documents)), out);
    BufferedImage img = ImageIO.read(png.toFile());
    assertEquals(900, img.getWidth());
    Set<Integer> colours = new HashSet<>();
    for (int y = 0; y < img.getHeight(); y += 4) {
      for (int x = 0; x < img.getWidth(); x += 4) {
        colours.add(img.getRGB(x, y));
      }
    }
    assertTrue(colours.size() > 5, "a drawn chart, not a blank image");

    Path bytesPng = tmp.resolve("clean-lengths.png");
    String cleanOut = ok(inspect(clean.toString(), "--histogram", bytesPng.toString())).out();
    assertTrue(cleanOut.contains("bytes median"), cleanOut);
  }

  @Test
  void verifyFindsEveryCorruptedShardAndMissingFile() throws IOException {
    assertTrue(ok(inspect(dataset.toString(), "--verify")).out().startsWith("verify: ok"));
    Path broken = tmp.resolve("broken");
    copy(dataset, broken);
    List<String> shards;
    try (Stream<Path> s = Files.list(broken)) {
      shards =
          s.map(p -> p.getFileName().toString())
              .filter(n -> n.startsWith("train-") && n.endsWith(".bin"))
              .sorted()
              .toList();
    }
    assertTrue(shards.size() >= 2, "the test needs two train shards: " + shards);
    try (RandomAccessFile f = new RandomAccessFile(broken.resolve(shards.get(0)).toFile(), "rw")) {
      f.seek(f.length() / 2);
      int b = f.read();
      f.seek(f.length() / 2);
      f.write(b ^ 0x01); // one bit
    }
    try (RandomAccessFile f = new RandomAccessFile(broken.resolve(shards.get(1)).toFile(), "rw")) {
      f.setLength(f.length() - 2); // one token short
    }
    Files.write(broken.resolve("train-99999.bin"), new byte[4]);
    Result r = inspect(broken.toString(), "--verify");
    assertEquals(1, r.code(), r.out() + r.err());
    List<String> problems = r.out().lines().filter(l -> l.startsWith("problem: ")).toList();
    assertEquals(3, problems.size(), r.out());
    assertTrue(problems.get(0).contains(shards.get(0) + ": sha256"), problems.toString());
    assertTrue(
        problems.get(1).contains(shards.get(1) + ": ")
            && problems.get(1).contains("bytes, the manifest says"),
        problems.toString());
    assertTrue(
        problems.get(2).contains("train-99999.bin: a shard file the manifest does not list"));
    assertTrue(r.out().contains("verify: 3 problems"), r.out());
  }

  @Test
  void verifyChecksACleanOutputFileByFile() throws IOException {
    assertTrue(ok(inspect(clean.toString(), "--verify")).out().startsWith("verify: ok"));
    Path broken = tmp.resolve("broken-clean");
    copy(clean, broken);
    Path part;
    try (Stream<Path> s = Files.list(broken)) {
      part =
          s.filter(p -> p.getFileName().toString().endsWith(".parquet")).sorted().findFirst().get();
    }
    try (RandomAccessFile f = new RandomAccessFile(part.toFile(), "rw")) {
      f.setLength(f.length() / 2);
    }
    Result r = inspect(broken.toString(), "--verify");
    assertEquals(1, r.code(), r.out());
    assertTrue(
        r.out()
            .lines()
            .anyMatch(
                l ->
                    l.startsWith("problem: ")
                        && l.contains(part.getFileName().toString())
                        && l.contains("unreadable Parquet")),
        r.out());
  }

  @Test
  void runFolderSummaryAndVerify() throws IOException {
    Path run = tmp.resolve("run");
    ok(
        Cli.run(
            "train-local",
            "--data",
            dataset.toString(),
            "--output",
            run.toString(),
            "--preset",
            "tiny",
            "--block-size",
            "64",
            "--d-model",
            "32",
            "--layers",
            "1",
            "--heads",
            "2",
            "--batch-size",
            "2",
            "--steps",
            "4",
            "--warmup",
            "1",
            "--eval-every",
            "2",
            "--eval-batches",
            "1",
            "--checkpoint-every",
            "2",
            "--log-every",
            "1",
            "--threads",
            "1"));
    JsonNode s = JSON.readTree(ok(inspect(run.toString(), "--json")).out());
    assertEquals("run", s.get("kind").asText());
    assertEquals(4, s.get("last_step").asLong());
    assertTrue(s.get("best_val_loss").asDouble() > 0);
    assertTrue(s.get("checkpoints").has("checkpoint"), s.toString());
    assertTrue(ok(inspect(run.toString(), "--verify")).out().startsWith("verify: ok"));

    Path model = run.resolve("checkpoint").resolve("model.safetensors");
    try (RandomAccessFile f = new RandomAccessFile(model.toFile(), "rw")) {
      f.setLength(f.length() - 100);
    }
    Files.writeString(
        run.resolve("metrics.jsonl"), "{not json\n", java.nio.file.StandardOpenOption.APPEND);
    Result r = inspect(run.toString(), "--verify");
    assertEquals(1, r.code(), r.out());
    List<String> problems = r.out().lines().filter(l -> l.startsWith("problem: ")).toList();
    assertEquals(2, problems.size(), r.out());
    // checkpoint/ links to the newest checkpoints/step-N: the damage is reported once, under the
    // step folder
    assertTrue(
        problems.stream()
            .anyMatch(
                p ->
                    p.contains("checkpoints/step-0000004: model.safetensors")
                        && p.contains("(truncated)")),
        problems.toString());
    assertTrue(
        problems.stream().anyMatch(p -> p.contains("metrics.jsonl line")), problems.toString());
  }

  @Test
  void usageErrorsAreOneLineWithExitCode2() {
    Result missing = inspect(tmp.resolve("nope").toString());
    assertEquals(2, missing.code());
    assertEquals(1, missing.err().lines().count(), missing.err());
    Result wrong = inspect(clean.toString(), "--sample", "0");
    assertEquals(2, wrong.code());
    assertTrue(wrong.err().contains("--sample needs a dataset folder"), wrong.err());
    Result notPng = inspect(dataset.toString(), "--histogram", tmp.resolve("x.jpg").toString());
    assertEquals(2, notPng.code());
  }

  static void copy(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (Stream<Path> s = Files.list(from)) {
      for (Path p : s.toList()) {
        Files.copy(p, to.resolve(p.getFileName()));
      }
    }
  }
}
