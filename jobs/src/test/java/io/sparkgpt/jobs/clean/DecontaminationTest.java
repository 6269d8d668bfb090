package io.sparkgpt.jobs.clean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.jobs.Cli;
import io.sparkgpt.jobs.Cli.Result;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Benchmark decontamination through the command line, with overlaps planted in English and Chinese
 * documents built from the bundled sample/ (WikiText paragraphs, Shakespeare, Tang poems).
 */
class DecontaminationTest {
  static final ObjectMapper JSON = new ObjectMapper();
  static final Path SAMPLE = Path.of("..", "sample");
  static final Pattern WORD = Pattern.compile("[\\p{L}\\p{N}]+");
  static final Pattern HAN = Pattern.compile("\\p{IsHan}");

  /**
   * Everything but the step under test, so that every input document either survives or is
   * decontaminated.
   */
  static final String OTHER_STEPS = "quality,repetition,code_quality,language,pii,fuzzy_dedup";

  @TempDir static Path tmp;

  static List<String> wiki = new ArrayList<>();
  static List<String> chinese = new ArrayList<>();

  @BeforeAll
  static void sampleText() throws IOException {
    // The sample plants broken lines (invalid UTF-8, bad JSON) among the paragraphs: those are left
    // out here, and
    // so are paragraphs that share a 13-gram with an earlier one (an article repeats itself): each
    // planted
    // overlap must hit exactly one document.
    java.util.Set<List<String>> seen = new java.util.HashSet<>();
    String all =
        new String(Files.readAllBytes(SAMPLE.resolve("wiki.jsonl")), StandardCharsets.UTF_8);
    for (String line : all.split("\n")) {
      JsonNode node;
      try {
        node = JSON.readTree(line);
      } catch (IOException e) {
        continue;
      }
      String text = node != null && node.get("text") != null ? node.get("text").asText() : "";
      List<String> w = words(text);
      if (text.contains("\uFFFD") || w.size() < 80) {
        continue;
      }
      List<List<String>> grams = new ArrayList<>();
      for (int i = 0; i + 13 <= w.size(); i++) {
        grams.add(w.subList(i, i + 13));
      }
      if (grams.stream().noneMatch(seen::contains)) {
        seen.addAll(grams);
        wiki.add(text);
      }
    }
    // Chinese documents of 8 poems each (a poem alone is a few dozen characters).
    String[] poems = Files.readString(SAMPLE.resolve("tang300.txt")).split("\n\\s*\n");
    for (int i = 0; i + 8 <= poems.length && chinese.size() < 6; i += 8) {
      chinese.add(String.join("\n\n", List.of(poems).subList(i, i + 8)));
    }
  }

  static List<String> words(String text) {
    List<String> out = new ArrayList<>();
    Matcher m = WORD.matcher(text);
    while (m.find()) {
      out.add(m.group().toLowerCase(java.util.Locale.ROOT));
    }
    return out;
  }

  /** The substring of text from the start of word `from` to the end of word `from + count - 1`. */
  static String wordSpan(String text, int from, int count) {
    Matcher m = WORD.matcher(text);
    int start = -1;
    for (int k = 0; m.find(); k++) {
      if (k == from) {
        start = m.start();
      }
      if (k == from + count - 1) {
        return text.substring(start, m.end());
      }
    }
    throw new IllegalArgumentException("text has fewer than " + (from + count) + " words");
  }

  static long hanCount(String text) {
    return HAN.matcher(text).results().count();
  }

  static void writeJsonl(Path file, Map<String, String> docs) throws IOException {
    StringBuilder b = new StringBuilder();
    for (var e : docs.entrySet()) {
      b.append(JSON.writeValueAsString(Map.of("text", e.getValue(), "name", e.getKey())))
          .append('\n');
    }
    Files.writeString(file, b);
  }

  static List<JsonNode> rows(Path dir) throws IOException {
    List<JsonNode> rows = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f :
          files.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList()) {
        for (String line : Files.readAllLines(f)) {
          rows.add(JSON.readTree(line));
        }
      }
    }
    return rows;
  }

  static Map<String, JsonNode> byName(List<JsonNode> rows) {
    return rows.stream()
        .collect(Collectors.toMap(r -> r.get("metadata").get("name").asText(), r -> r));
  }

  static Result clean(String... args) {
    List<String> all =
        new ArrayList<>(List.of("clean", "--master", "local[2]", "--output-format", "jsonl"));
    all.addAll(List.of(args));
    Result r = Cli.run(all.toArray(String[]::new));
    assertEquals(0, r.code(), () -> "clean failed: " + r.err());
    return r;
  }

  /** English and Chinese documents, and eval sets planted with passages of some of them. */
  static Path input;

  static Path quiz;
  static Path poems;
  static Path poemsSpaced;

  static void plant() throws IOException {
    if (input != null) {
      return;
    }
    Map<String, String> docs = new LinkedHashMap<>();
    for (int i = 0; i < 20; i++) {
      docs.put("en" + i, wiki.get(i));
    }
    for (int i = 0; i < chinese.size(); i++) {
      docs.put("zh" + i, chinese.get(i));
    }
    input = tmp.resolve("docs.jsonl");
    writeJsonl(input, docs);
    // en0: a verbatim 25-word passage. en1: the same words with other case and punctuation. en2:
    // only 12 words
    // in common (one short of the n-gram). zh0: 20 characters with the punctuation replaced by
    // spaces.
    String en2Near =
        String.join(" ", words(wiki.get(2)).subList(5, 17)) + " xylophone zeppelin quartz";
    quiz = tmp.resolve("quiz.jsonl");
    Files.writeString(
        quiz,
        JSON.writeValueAsString(Map.of("text", wordSpan(wiki.get(0), 20, 25)))
            + "\n"
            + JSON.writeValueAsString(
                Map.of(
                    "text",
                    wordSpan(wiki.get(1), 30, 20)
                        .toUpperCase(java.util.Locale.ROOT)
                        .replaceAll("[,.;:'\"]", " ! "),
                    "id",
                    7))
            + "\n\n"
            + JSON.writeValueAsString(Map.of("text", en2Near))
            + "\n"
            + JSON.writeValueAsString(
                Map.of(
                    "text",
                    "none of these words appear together in the sample corpus at all, "
                        + "we hope, so this question overlaps nothing whatsoever"))
            + "\n");
    String zh = chinese.get(0);
    int at = zh.indexOf('\n', zh.length() / 2) + 1;
    poems = tmp.resolve("poems.txt");
    Files.writeString(poems, zh.substring(at, at + 20).replaceAll("[，。？！、\\n]", " ") + "\n");
    poemsSpaced = tmp.resolve("poems-spaced.txt");
    Files.writeString(poemsSpaced, String.join(" ", zh.substring(at, at + 20).split("")));
  }

  @Test
  void dropsEnglishAndChineseDocumentsWithAPlantedOverlapAndNothingElse() throws IOException {
    plant();
    Path out = tmp.resolve("drop-out");
    Path rejected = tmp.resolve("drop-rejected");
    Path report = tmp.resolve("drop-report.json");
    Result res =
        clean(
            "-i",
            input.toString(),
            "-o",
            out.toString(),
            "--rejected",
            rejected.toString(),
            "--report",
            report.toString(),
            "--skip",
            OTHER_STEPS,
            "--decontaminate",
            quiz + "," + poems);

    Map<String, JsonNode> rej = byName(rows(rejected));
    assertEquals(
        List.of("en0", "en1", "zh0"), rej.keySet().stream().sorted().toList(), rej.toString());
    for (JsonNode r : rej.values()) {
      assertEquals("decontaminate", r.get("step").asText());
      assertEquals("benchmark_overlap", r.get("rule").asText());
      assertEquals("rejected", r.get("status").asText());
    }
    assertEquals("quiz", rej.get("en0").get("benchmark").asText());
    assertEquals(13, words(rej.get("en0").get("ngram").asText()).size());
    assertTrue(
        wiki.get(0).contains(rej.get("en0").get("ngram").asText()),
        "the n-gram as the document wrote it");
    assertEquals("poems", rej.get("zh0").get("benchmark").asText());
    assertEquals(13, hanCount(rej.get("zh0").get("ngram").asText()), "13 characters are 13 words");
    assertEquals(26 - 3, rows(out).size());

    JsonNode r = JSON.readTree(report.toFile());
    JsonNode q = r.get("decontamination").get("benchmarks").get("quiz");
    assertEquals(4, q.get("eval_items").asLong());
    assertEquals(2, q.get("docs_dropped").asLong());
    assertEquals(0, q.get("docs_cut").asLong());
    assertEquals((25 - 12) + (20 - 12), q.get("ngrams_matched").asLong());
    assertEquals(
        1, r.get("decontamination").get("benchmarks").get("poems").get("docs_dropped").asLong());
    assertEquals("hash_set", r.get("decontamination").get("filter").asText());
    assertEquals(
        3,
        r.get("steps")
            .get(Steps.index(Steps.DECONTAMINATE))
            .get("dropped")
            .get("benchmark_overlap")
            .asLong());
    assertTrue(
        res.out().lines().anyMatch(l -> l.matches("quiz\\s+4\\s+\\d+\\s+2\\s+0\\s+21")), res.out());
    assertTrue(res.out().lines().anyMatch(l -> l.startsWith("decontaminate ")), res.out());
  }

  @Test
  void aBloomFilterWithManyFalsePositivesDropsExactlyTheSameAndWhitespaceSplittingMissesChinese()
      throws IOException {
    plant();
    Path config = tmp.resolve("bloom.json");
    Files.writeString(
        config, "{\"decontaminate\": {\"bloom_above_ngrams\": 0, \"bloom_fpp\": 0.3}}");
    Path rejected = tmp.resolve("bloom-rejected");
    Path report = tmp.resolve("bloom-report.json");
    clean(
        "-i",
        input.toString(),
        "-o",
        tmp.resolve("bloom-out").toString(),
        "--rejected",
        rejected.toString(),
        "--report",
        report.toString(),
        "--skip",
        OTHER_STEPS,
        "--decontaminate",
        quiz + "," + poemsSpaced,
        "--config",
        config.toString(),
        "--decontaminate-split",
        "whitespace");
    // The eval passage is 20 space-separated characters, but in the document a run of characters
    // between
    // punctuation is one word now: no match.
    assertEquals(List.of("en0", "en1"), byName(rows(rejected)).keySet().stream().sorted().toList());
    JsonNode d = JSON.readTree(report.toFile()).get("decontamination");
    assertEquals("bloom", d.get("filter").asText());
    assertTrue(
        d.get("hashes_hit").asLong() > 10L * d.get("eval_ngrams_hit").asLong(),
        "a 30% false-positive rate marks many documents, all cleared by verification: " + d);
  }

  @Test
  void cutRemovesTheOverlapWithItsMarginAndKeepsTheRest() throws IOException {
    String shakespeare = Files.readString(SAMPLE.resolve("shakespeare.txt")).substring(0, 30_000);
    List<String> sWords = words(shakespeare);
    String passage = wordSpan(shakespeare, 2000, 30);
    String zh = chinese.get(1);
    int at = zh.indexOf('\n', zh.length() / 2) + 1;
    String zhPassage = zh.substring(at, at + 20);
    String tiny = "Answer: " + wordSpan(wiki.get(3), 0, 16) + " indeed.";
    Map<String, String> docs = new LinkedHashMap<>();
    docs.put("play", shakespeare);
    docs.put("poems", zh);
    docs.put("tiny", tiny);
    docs.put("other", wiki.get(4));
    Path in = tmp.resolve("cut-docs.jsonl");
    writeJsonl(in, docs);
    Path eval = tmp.resolve("exam.jsonl");
    Files.writeString(
        eval,
        Stream.of(passage, zhPassage, wordSpan(wiki.get(3), 0, 16))
            .map(t -> "{\"text\": " + quote(t) + "}")
            .collect(Collectors.joining("\n")));
    Path out = tmp.resolve("cut-out");
    Path rejected = tmp.resolve("cut-rejected");
    Path report = tmp.resolve("cut-report.json");
    // Exact dedup stays on: the cut happens before it, on the documents it then sees.
    clean(
        "-i",
        in.toString(),
        "-o",
        out.toString(),
        "--rejected",
        rejected.toString(),
        "--report",
        report.toString(),
        "--skip",
        OTHER_STEPS,
        "--decontaminate",
        eval.toString(),
        "--decontaminate-action",
        "cut",
        "--decontaminate-margin",
        "5");

    Map<String, JsonNode> kept = byName(rows(out));
    assertEquals(List.of("other", "play", "poems"), kept.keySet().stream().sorted().toList());
    assertEquals(words(wiki.get(4)), words(kept.get("other").get("text").asText()));
    List<String> expected = new ArrayList<>(sWords.subList(0, 2000 - 5));
    expected.addAll(sWords.subList(2000 + 30 + 5, sWords.size()));
    assertEquals(
        expected,
        words(kept.get("play").get("text").asText()),
        "30 words and 5 either side are gone");
    assertFalse(kept.get("play").get("text").asText().contains(passage));
    assertEquals(
        hanCount(zh) - hanCount(zhPassage) - 10, hanCount(kept.get("poems").get("text").asText()));

    Map<String, JsonNode> rej = byName(rows(rejected));
    assertEquals("cut", rej.get("play").get("status").asText());
    assertEquals(
        sWords.subList(2000 - 5, 2000 + 35),
        words(rej.get("play").get("text").asText()),
        "the rejected record holds what was cut");
    assertEquals("cut", rej.get("poems").get("status").asText());
    assertEquals("rejected", rej.get("tiny").get("status").asText());
    assertTrue(
        rej.get("tiny").get("reason").asText().contains("nothing left"),
        rej.get("tiny").toString());
    JsonNode exam =
        JSON.readTree(report.toFile()).get("decontamination").get("benchmarks").get("exam");
    assertEquals(2, exam.get("docs_cut").asLong());
    assertEquals(1, exam.get("docs_dropped").asLong());
  }

  static String quote(String s) {
    try {
      return JSON.writeValueAsString(s);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void badEvalInputIsAOneLineErrorWithExitCode2() throws IOException {
    plant();
    Path empty = Files.writeString(tmp.resolve("empty.jsonl"), "");
    Path shortText = Files.writeString(tmp.resolve("short.txt"), "only five words in here");
    Path malformed =
        Files.writeString(
            tmp.resolve("broken.jsonl"),
            "{\"text\": \"fine line with enough words to make at least one thirteen word n-gram for sure\"}\n"
                + "{\"text\": \"unterminated\n");
    Path noField = Files.writeString(tmp.resolve("nofield.jsonl"), "{\"question\": \"what?\"}\n");
    Map<String, String> cases = new LinkedHashMap<>();
    cases.put(tmp.resolve("missing.jsonl").toString(), "eval file not found: ");
    cases.put(empty.toString(), "empty.jsonl has no text of 13 words or more (it is empty)");
    cases.put(shortText.toString(), "short.txt has no text of 13 words or more");
    cases.put(malformed.toString(), "broken.jsonl line 2: malformed JSON");
    cases.put(noField.toString(), "nofield.jsonl line 1: no text field (text)");
    cases.put(quiz + "," + quiz, "are both benchmark 'quiz'");
    int k = 0;
    for (var c : cases.entrySet()) {
      Path out = tmp.resolve("bad-out-" + k++);
      Result r =
          Cli.run(
              "clean",
              "--master",
              "local[1]",
              "-i",
              input.toString(),
              "-o",
              out.toString(),
              "--decontaminate",
              c.getKey());
      assertEquals(2, r.code(), c.getKey() + ": " + r.err());
      List<String> lines = r.err().lines().filter(l -> l.startsWith("clean: ")).toList();
      assertEquals(1, lines.size(), r.err());
      assertTrue(lines.get(0).contains(c.getValue()), lines.get(0));
      assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
      assertFalse(Files.exists(out), "no output after a failed job");
    }
    Result bad =
        Cli.run(
            "clean",
            "-i",
            input.toString(),
            "-o",
            tmp.resolve("x").toString(),
            "--decontaminate",
            quiz.toString(),
            "--decontaminate-action",
            "erase");
    assertEquals(2, bad.code());
    assertTrue(
        bad.err().contains("decontaminate.action must be drop or cut, not erase"), bad.err());
  }

  @Test
  void printConfigShowsTheDecontaminationSettings() throws IOException {
    Result r =
        Cli.run("clean", "-i", "x", "-o", "y", "--print-config", "--decontaminate-ngram", "8");
    assertEquals(0, r.code(), r.err());
    JsonNode d = JSON.readTree(r.out()).get("decontaminate");
    assertEquals(8, d.get("ngram").asInt());
    assertEquals("cjk", d.get("split").asText());
    assertEquals("drop", d.get("action").asText());
    assertEquals(200, d.get("margin_words").asInt());
  }
}
