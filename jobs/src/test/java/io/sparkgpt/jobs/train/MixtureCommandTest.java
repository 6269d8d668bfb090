package io.sparkgpt.jobs.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.jobs.Cli;
import io.sparkgpt.tokenizer.Corpus;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --data} as a token-weighted mixture: English prose and Chinese poems, 3:1. */
class MixtureCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir static Path tmp;
  static Path en;
  static Path zh;

  static Cli.Result ok(Cli.Result r) {
    assertEquals(0, r.code(), r.err());
    return r;
  }

  @BeforeAll
  static void datasets() {
    String shakespeare = Corpus.dir().resolve("prose_en/tinyshakespeare.txt").toString();
    String tang = Corpus.dir().resolve("zh/fortunes-zh-tang300.txt").toString();
    Path tok = tmp.resolve("tokenizer.json");
    ok(
        Cli.run(
            "train-tokenizer",
            "--master",
            "local[2]",
            "-i",
            shakespeare + "," + tang,
            "--doc-split",
            "blank-line",
            "-o",
            tok.toString(),
            "--vocab-size",
            "512"));
    en = tmp.resolve("en");
    zh = tmp.resolve("zh");
    for (Path out : List.of(en, zh)) {
      ok(
          Cli.run(
              "tokenize",
              "--master",
              "local[2]",
              "-i",
              out == en ? shakespeare : tang,
              "--doc-split",
              "blank-line",
              "-t",
              tok.toString(),
              "-o",
              out.toString(),
              "--seq-len",
              "64",
              "--val-fraction",
              "0.1"));
    }
  }

  static List<String> trainLocal(String data, Path run, int steps) {
    return new ArrayList<>(
        List.of(
            "train-local",
            "--data",
            data,
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
            "8",
            "--warmup",
            "2",
            "--lr",
            "3e-3",
            "--eval-every",
            "6",
            "--eval-batches",
            "2",
            "--checkpoint-every",
            "6",
            "--log-every",
            "3",
            "--threads",
            "1",
            "--steps",
            Integer.toString(steps),
            "--decay-steps",
            "12"));
  }

  static List<JsonNode> metrics(Path run) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (String line : Files.readAllLines(run.resolve("metrics.jsonl"), StandardCharsets.UTF_8)) {
      JsonNode n = JSON.readTree(line);
      if (n.has("loss")) {
        out.add(n);
      }
    }
    return out;
  }

  @Test
  void trainLocalBlendsByTokensAndResumesExactly() throws Exception {
    String mix = "en=" + en + ":3,zh=" + zh + ":1";
    Path whole = tmp.resolve("whole");
    Cli.Result r = ok(Cli.run(trainLocal(mix, whole, 12).toArray(String[]::new)));
    assertTrue(r.err().contains("mixture en:3.0,zh:1.0") && r.err().contains("| mix en "), r.err());
    List<JsonNode> m = metrics(whole);
    JsonNode last = m.get(m.size() - 1);
    long enTokens = last.get("tokens_per_source").get("en").asLong();
    long zhTokens = last.get("tokens_per_source").get("zh").asLong();
    assertEquals(12 * 8 * 64, enTokens + zhTokens, last.toString());
    double share = enTokens / (double) (enTokens + zhTokens);
    assertTrue(share > 0.6 && share < 0.9, "English share " + share + " of a 3:1 blend");

    // 6 steps, then 6 more from the checkpoint (one schedule: --decay-steps 12): the same samples
    // and losses
    Path parts = tmp.resolve("parts");
    ok(Cli.run(trainLocal(mix, parts, 6).toArray(String[]::new)));
    ok(Cli.run(trainLocal(mix, parts, 12).toArray(String[]::new)));
    List<JsonNode> resumed = metrics(parts);
    assertEquals(12, resumed.size());
    for (int i = 0; i < 12; i++) {
      assertEquals(
          m.get(i).get("loss").asDouble(),
          resumed.get(i).get("loss").asDouble(),
          1e-5,
          "step " + (i + 1));
      assertEquals(m.get(i).get("tokens_per_source"), resumed.get(i).get("tokens_per_source"));
    }

    // another blend is another run: refused on resume
    Cli.Result other =
        Cli.run(trainLocal("en=" + en + ":1,zh=" + zh + ":1", parts, 14).toArray(String[]::new));
    assertEquals(2, other.code(), other.err());
    assertTrue(other.err().contains("data_mixture"), other.err());
  }

  @Test
  void pretrainReadsAMixtureFileAndRefusesMoreThanItsCapsHold() throws Exception {
    Path file = tmp.resolve("mix.json");
    Files.writeString(
        file,
        "{\"sources\": [{\"name\": \"en\", \"path\": \"en\", \"weight\": 0.75},"
            + " {\"name\": \"zh\", \"path\": \""
            + zh
            + "\", \"weight\": 0.25, \"max_epochs\": 2}]}");
    Path run = tmp.resolve("pre");
    Cli.Result r =
        ok(
            Cli.run(
                "pretrain",
                "--data",
                file.toString(),
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
                "--workers",
                "2",
                "--averaging-every",
                "2",
                "--batch-size",
                "4",
                "--steps",
                "4",
                "--warmup",
                "1",
                "--eval-batches",
                "1",
                "--no-verify"));
    assertTrue(r.err().contains("| mix en "), r.err());
    List<JsonNode> m = metrics(run);
    JsonNode last = m.get(m.size() - 1);
    assertEquals(
        4 * 2 * 4 * 64,
        last.get("tokens_per_source").get("en").asLong()
            + last.get("tokens_per_source").get("zh").asLong(),
        last.toString());

    Cli.Result capped =
        Cli.run(
            "pretrain",
            "--data",
            "en=" + en + ":3:max_epochs=0.5,zh=" + zh + ":1:max_epochs=0.5",
            "--output",
            tmp.resolve("capped").toString(),
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
            "--workers",
            "2",
            "--batch-size",
            "8",
            "--steps",
            "100000",
            "--no-verify");
    assertEquals(2, capped.code(), capped.err());
    assertTrue(capped.err().contains("max_epochs caps allow"), capped.err());
    assertTrue(capped.err().lines().noneMatch(l -> l.startsWith("\tat ")), capped.err());
  }

  @Test
  void aBadMixtureIsOneLine() throws Exception {
    Path run = tmp.resolve("bad");
    String[][] cases = {
      {"en=" + en + ",zh=" + zh + ":1", "has no weight"},
      {"en=" + en + ":x,zh=" + zh + ":1", "weight 'x' is not a number"},
      {"en=" + en + ":1,en=" + zh + ":1", "appears twice"},
      {"en=" + en + ":0,zh=" + zh + ":1", "must be > 0"},
      {"en=" + en + ":1,zh=" + tmp.resolve("none") + ":1", "none"},
    };
    for (String[] c : cases) {
      Cli.Result r = Cli.run(trainLocal(c[0], run, 2).toArray(String[]::new));
      assertEquals(2, r.code(), c[0] + ": " + r.err());
      assertTrue(
          r.err().contains(c[1]) && r.err().strip().lines().count() == 1, c[0] + ": " + r.err());
    }
    Path broken = tmp.resolve("broken.json");
    Files.writeString(broken, "{\"sources\": [{\"name\": \"en\", \"weight\": 1}]}");
    Cli.Result r = Cli.run(trainLocal(broken.toString(), run, 2).toArray(String[]::new));
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("has no \"path\""), r.err());
    Cli.Result dl4j =
        Cli.run(
            "pretrain",
            "--engine",
            "dl4j-spark",
            "--data",
            "en=" + en + ":1,zh=" + zh + ":1",
            "--output",
            run.toString());
    assertEquals(2, dl4j.code(), dl4j.err());
    assertTrue(dl4j.err().contains("reads one dataset"), dl4j.err());
  }
}
