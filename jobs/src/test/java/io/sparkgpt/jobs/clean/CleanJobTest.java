package io.sparkgpt.jobs.clean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.luben.zstd.ZstdOutputStream;
import io.sparkgpt.jobs.Cli;
import io.sparkgpt.jobs.Cli.Result;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The clean job end to end through the command line, on real and on deliberately broken input. */
class CleanJobTest {
  @TempDir Path tmp;

  static Result cli(String... args) {
    return Cli.run(args);
  }

  static Result clean(String... args) {
    List<String> all = new ArrayList<>(List.of("clean", "--master", "local[2]"));
    all.addAll(List.of(args));
    Result r = cli(all.toArray(String[]::new));
    assertEquals(0, r.code(), () -> "clean failed: " + r.err());
    return r;
  }

  static JsonNode report(Path file) throws IOException {
    return TestData.JSON.readTree(file.toFile());
  }

  /** The kept (or rejected) documents of a JSONL output directory. */
  static List<JsonNode> rows(Path dir) throws IOException {
    List<JsonNode> rows = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f :
          files.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList()) {
        for (String line : Files.readAllLines(f)) {
          rows.add(TestData.JSON.readTree(line));
        }
      }
    }
    return rows;
  }

  static long dropped(JsonNode report, String step, String rule) {
    for (JsonNode s : report.get("steps")) {
      if (s.get("step").asText().equals(step)) {
        JsonNode n = s.get("dropped").get(rule);
        return n == null ? 0 : n.asLong();
      }
    }
    throw new AssertionError("no step " + step);
  }

  static void assertAccounting(JsonNode r) {
    assertEquals(
        r.get("input_docs").asLong(),
        r.get("kept_docs").asLong()
            + r.get("rejected_docs").asLong()
            + r.get("quarantined_docs").asLong(),
        "input = kept + rejected + quarantined");
    long docs = r.get("input_docs").asLong();
    for (JsonNode s : r.get("steps")) {
      long droppedHere = 0;
      for (JsonNode n : s.get("dropped")) {
        droppedHere += n.asLong();
      }
      String step = s.get("step").asText();
      List<String> declared = Steps.PIPELINE.get(Steps.index(step)).reasons();
      s.get("dropped")
          .fieldNames()
          .forEachRemaining(
              reason ->
                  assertTrue(
                      declared.contains(reason),
                      step
                          + " dropped for '"
                          + reason
                          + "', which its pipeline entry does not declare: "
                          + declared));
      assertEquals(docs, s.get("docs_in").asLong(), s.get("step").asText() + " docs in");
      assertEquals(
          docs - droppedHere, s.get("docs_out").asLong(), s.get("step").asText() + " docs out");
      docs = s.get("docs_out").asLong();
    }
    assertEquals(docs, r.get("kept_docs").asLong());
  }

  static void write(Path file, byte[]... parts) {
    try (OutputStream out = Files.newOutputStream(file)) {
      for (byte[] p : parts) {
        out.write(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String prose() {
    return TestData.lines("prose_en/wikitext-2-raw-v1.test.txt", 1500, 1).get(0);
  }

  @Test
  void badInputIsQuarantinedOrRejectedWithItsReason() throws IOException {
    Path in = Files.createDirectories(tmp.resolve("in"));
    String good =
        TestData.JSON.writeValueAsString(Map.of("text", prose(), "url", "https://example.org/a"));
    write(
        in.resolve("mixed.jsonl"),
        utf8(good + "\n"),
        utf8("{\"text\": \"unterminated\n"),
        utf8("[1, 2, 3]\n"),
        utf8("{\"title\": \"no text field\"}\n"),
        utf8("{\"text\": 42}\n"),
        utf8("{\"text\": \"   \"}\n"),
        utf8("{\"text\": \"lone \\ud800 surrogate\"}\n"),
        utf8("\n"), // a blank line separates records and is none
        utf8("{\"text\": \"bad "),
        new byte[] {(byte) 0xC3, (byte) 0x28},
        utf8(" bytes\"}\n"));
    write(
        in.resolve("latin1.txt"),
        utf8("caf"),
        new byte[] {(byte) 0xE9},
        utf8(" au lait, " + prose()));
    // A 50 MB document: read, measured and rejected by the length rule, not by running out of
    // memory.
    StringBuilder huge = new StringBuilder(50 << 20);
    Random rnd = new Random(1);
    String[] words = prose().split(" ");
    while (huge.length() < 50 << 20) {
      huge.append(words[rnd.nextInt(words.length)]).append(rnd.nextInt(12) == 0 ? ".\n" : " ");
    }
    Files.writeString(in.resolve("huge.txt"), huge);
    huge.setLength(0);

    Path out = tmp.resolve("out");
    Path rejected = tmp.resolve("rejected");
    Path reportFile = tmp.resolve("report.json");
    Result res =
        clean(
            "-i",
            in.toString(),
            "-o",
            out.toString(),
            "--output-format",
            "jsonl",
            "--rejected",
            rejected.toString(),
            "--report",
            reportFile.toString());
    JsonNode r = report(reportFile);
    assertAccounting(r);
    assertEquals(10, r.get("input_docs").asLong());
    assertEquals(1, r.get("kept_docs").asLong());
    assertEquals(7, r.get("quarantined_docs").asLong());
    for (String rule :
        List.of(
            "malformed_json",
            "not_a_json_object",
            "missing_text_field",
            "text_not_a_string",
            "unpaired_surrogate")) {
      assertEquals(1, dropped(r, "decode", rule), rule);
    }
    assertEquals(2, dropped(r, "decode", "invalid_utf8"));
    assertEquals(1, dropped(r, "normalize", "empty"));
    assertEquals(1, dropped(r, "quality", "too_long"));
    assertTrue(res.out().contains("quarantined 7"), res.out());

    List<JsonNode> kept = rows(out);
    assertEquals(1, kept.size());
    assertEquals("https://example.org/a", kept.get(0).get("metadata").get("url").asText());
    assertEquals("en", kept.get(0).get("language").asText());
    List<JsonNode> rej = rows(rejected);
    assertEquals(9, rej.size(), "every dropped document is written with its reason");
    for (JsonNode row : rej) {
      assertFalse(row.get("reason").asText().isBlank());
      assertTrue(row.has("text") || row.has("raw_base64"), row.toString());
    }
    JsonNode latin1 =
        rej.stream().filter(n -> n.get("source").asText().endsWith("latin1.txt")).findFirst().get();
    assertEquals(
        "invalid UTF-8 at byte 3 of the file",
        latin1.get("reason").asText().replace("invalid_utf8: ", ""));
    assertEquals(
        '\u00e9',
        new String(
                java.util.Base64.getDecoder().decode(latin1.get("raw_base64").asText()),
                StandardCharsets.ISO_8859_1)
            .charAt(3),
        "quarantined bytes are kept unmangled");

    // With a lower cap, the giant document is quarantined unread instead.
    Path reportCapped = tmp.resolve("capped.json");
    clean(
        "-i",
        in.resolve("huge.txt").toString(),
        "-o",
        tmp.resolve("out2").toString(),
        "--max-doc-bytes",
        "1000000",
        "--report",
        reportCapped.toString());
    assertEquals(1, dropped(report(reportCapped), "decode", "too_large"));
  }

  @Test
  void realCorpusKeepsChineseAndCodeAndAccountsForEveryDocument() throws IOException {
    Path c = TestData.corpus();
    Path reportFile = tmp.resolve("report.json");
    Path out = tmp.resolve("out");
    clean(
        "-i",
        c.resolve("zh") + "," + c.resolve("code") + "," + c.resolve("prose_en/tinyshakespeare.txt"),
        "-o",
        out.toString(),
        "--output-format",
        "jsonl",
        "--report",
        reportFile.toString(),
        "--skip",
        "fuzzy_dedup");
    JsonNode r = report(reportFile);
    assertAccounting(r);
    List<JsonNode> kept = rows(out);
    Set<String> keptSources = new TreeSet<>();
    Map<String, Integer> langs = new HashMap<>();
    for (JsonNode k : kept) {
      keptSources.add(k.get("source").asText().replaceAll(".*/", ""));
      langs.merge(k.get("language").asText(), 1, Integer::sum);
    }
    assertTrue(
        keptSources.containsAll(
            List.of(
                "debian-reference-zh-cn.txt",
                "fortunes-zh-tang300.txt",
                "fortunes-zh-song100.txt",
                "tinyshakespeare.txt")),
        keptSources.toString());
    assertEquals(3, langs.get("zh"));
    // Code gets code rules only: just generated files and exact copies go.
    long distinctPython =
        TestData.pythonFiles(1, Integer.MAX_VALUE, Integer.MAX_VALUE).stream().distinct().count();
    assertTrue(
        langs.get("python") >= 0.97 * distinctPython,
        "python docs kept: " + langs.get("python") + " of " + distinctPython + " distinct");
    assertEquals(
        0, dropped(r, "quality", "mean_word_length") + dropped(r, "quality", "alpha_words"));
  }

  /**
   * A JSONL corpus with exact and near copies, to check that the survivors never depend on
   * partitioning.
   */
  Path corpusWithDuplicates() throws IOException {
    List<String> texts =
        new ArrayList<>(TestData.lines("prose_en/wikitext-2-raw-v1.test.txt", 600, 120));
    texts.addAll(TestData.pythonFiles(1000, 20000, 60));
    Random rnd = new Random(5);
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      lines.add(TestData.JSON.writeValueAsString(Map.of("text", texts.get(i), "n", i)));
      if (i % 3 == 0) {
        lines.add(
            TestData.JSON.writeValueAsString(
                Map.of("text", texts.get(i), "n", i, "copy", "exact")));
      }
      if (i % 4 == 0) {
        lines.add(
            TestData.JSON.writeValueAsString(
                Map.of(
                    "text", TestData.editWords(texts.get(i), 0.04, rnd), "n", i, "copy", "near")));
      }
    }
    java.util.Collections.shuffle(lines, rnd);
    Path dir = Files.createDirectories(tmp.resolve("dups"));
    Files.write(dir.resolve("a.jsonl"), lines.subList(0, lines.size() / 2));
    Files.write(dir.resolve("b.jsonl"), lines.subList(lines.size() / 2, lines.size()));
    return dir;
  }

  Set<String> keptIds(Path out) throws IOException {
    Set<String> ids = new TreeSet<>();
    for (JsonNode row : rows(out)) {
      ids.add(row.get("id").asText());
    }
    return ids;
  }

  @Test
  void keptIdsAreIdenticalWith1And3And8Partitions() throws IOException {
    Path in = corpusWithDuplicates();
    Map<Integer, Set<String>> kept = new HashMap<>();
    for (int p : new int[] {1, 3, 8}) {
      Path out = tmp.resolve("p" + p);
      Path rep = tmp.resolve("p" + p + ".json");
      clean(
          "-i",
          in.toString(),
          "-o",
          out.toString(),
          "--output-format",
          "jsonl",
          "--partitions",
          "" + p,
          "--report",
          rep.toString(),
          "--skip",
          "language");
      kept.put(p, keptIds(out));
      JsonNode r = report(rep);
      assertAccounting(r);
      System.out.printf(
          "partitions %d: exact %d, near %d, kept %d%n",
          p,
          dropped(r, "exact_dedup", "exact_duplicate"),
          dropped(r, "fuzzy_dedup", "near_duplicate"),
          r.get("kept_docs").asLong());
      assertTrue(dropped(r, "exact_dedup", "exact_duplicate") >= 30, "exact copies removed");
      assertTrue(dropped(r, "fuzzy_dedup", "near_duplicate") >= 25, "near copies removed");
    }
    assertEquals(kept.get(1), kept.get(3));
    assertEquals(kept.get(1), kept.get(8));
  }

  /**
   * Ids are keyed by a file's path below the input argument, not by where the corpus lies: the val
   * split, the tokenizer's sample and so every result downstream are the same in any clone.
   * Re-reading clean's Parquet output keeps its ids (the part files' names are random).
   */
  @Test
  void documentIdsDoNotDependOnWhereTheCorpusLies() throws IOException {
    Path first = corpusWithDuplicates();
    Path moved = Files.createDirectories(tmp.resolve("elsewhere/with space/dups"));
    Files.writeString(first.resolve("notes.txt"), prose());
    try (Stream<Path> files = Files.list(first)) {
      for (Path f : files.toList()) {
        Files.copy(f, moved.resolve(f.getFileName()));
      }
    }
    Path a = tmp.resolve("ids-a");
    Path b = tmp.resolve("ids-b");
    clean(
        "-i",
        first.toString(),
        "-o",
        a.toString(),
        "--output-format",
        "jsonl",
        "--skip",
        "language");
    clean(
        "-i",
        moved.toString(),
        "-o",
        b.toString(),
        "--output-format",
        "jsonl",
        "--skip",
        "language");
    Set<String> ids = keptIds(a);
    assertTrue(ids.size() > 50, "kept " + ids.size());
    assertEquals(ids, keptIds(b));

    Path parquet = tmp.resolve("ids-parquet");
    Path again = tmp.resolve("ids-again");
    clean("-i", moved.toString(), "-o", parquet.toString(), "--skip", "language");
    clean(
        "-i",
        parquet.toString(),
        "-o",
        again.toString(),
        "--output-format",
        "jsonl",
        "--skip",
        "language");
    assertEquals(
        ids, keptIds(again), "clean's own ids survive a second pass over its Parquet output");
  }

  @Test
  void gzipAndZstdInputsGiveTheSameDocuments() throws IOException {
    Path plain = tmp.resolve("plain");
    Files.createDirectories(plain);
    List<String> lines = new ArrayList<>();
    for (String t : TestData.lines("prose_en/wikitext-2-raw-v1.test.txt", 600, 40)) {
      lines.add(TestData.JSON.writeValueAsString(Map.of("text", t)));
    }
    byte[] data = utf8(String.join("\n", lines) + "\n");
    write(plain.resolve("docs.jsonl"), data);
    Path gz = Files.createDirectories(tmp.resolve("gz"));
    try (OutputStream o =
        new GZIPOutputStream(Files.newOutputStream(gz.resolve("docs.jsonl.gz")))) {
      o.write(data);
    }
    Path zst = Files.createDirectories(tmp.resolve("zst"));
    try (OutputStream o =
        new ZstdOutputStream(Files.newOutputStream(zst.resolve("docs.jsonl.zst")))) {
      o.write(data);
    }
    Path txt = Files.createDirectories(tmp.resolve("txtzst"));
    try (OutputStream o =
        new ZstdOutputStream(Files.newOutputStream(txt.resolve("prose.txt.zst")))) {
      o.write(utf8(prose()));
    }
    List<String> expected = null;
    for (Path in : List.of(plain, gz, zst)) {
      Path out = tmp.resolve("out-" + in.getFileName());
      Path rep = tmp.resolve("rep-" + in.getFileName() + ".json");
      clean(
          "-i",
          in.toString(),
          "-o",
          out.toString(),
          "--output-format",
          "jsonl",
          "--skip",
          "language",
          "--report",
          rep.toString());
      assertEquals(40, report(rep).get("input_docs").asLong());
      List<String> texts = rows(out).stream().map(n -> n.get("text").asText()).sorted().toList();
      if (expected == null) {
        expected = texts;
        assertTrue(texts.size() >= 20, "kept " + texts.size());
      } else {
        assertEquals(expected, texts, in.getFileName().toString());
      }
    }
    Path out = tmp.resolve("out-txt");
    clean("-i", txt.toString(), "-o", out.toString(), "--output-format", "jsonl");
    assertEquals(List.of(prose()), rows(out).stream().map(n -> n.get("text").asText()).toList());
  }

  @Test
  void parquetInputKeepsOtherColumnsAsMetadata() throws IOException {
    Path in = tmp.resolve("pq");
    var spark = io.sparkgpt.cluster.SparkRuntime.start("pq", "local[1]", false, Map.of());
    try {
      List<org.apache.spark.sql.Row> rows = new ArrayList<>();
      List<String> texts = TestData.lines("prose_en/wikitext-2-raw-v1.test.txt", 600, 5);
      for (int i = 0; i < texts.size(); i++) {
        rows.add(org.apache.spark.sql.RowFactory.create(texts.get(i), "doc-" + i));
      }
      var schema =
          new org.apache.spark.sql.types.StructType()
              .add("content_text", "string")
              .add("title", "string");
      spark.createDataFrame(rows, schema).coalesce(1).write().parquet(in.toString());
    } finally {
      spark.stop();
    }
    Path out = tmp.resolve("pq-out");
    Path rep = tmp.resolve("pq.json");
    clean(
        "-i",
        in.toString(),
        "-o",
        out.toString(),
        "--output-format",
        "jsonl",
        "--text-field",
        "content_text",
        "--report",
        rep.toString());
    assertEquals(5, report(rep).get("input_docs").asLong());
    List<JsonNode> kept = rows(out);
    assertFalse(kept.isEmpty());
    assertTrue(kept.get(0).get("metadata").get("title").asText().startsWith("doc-"));
    Result missing = cli("clean", "-i", in.toString(), "-o", tmp.resolve("x").toString());
    assertEquals(2, missing.code());
    assertTrue(missing.err().contains("no column 'text'"), missing.err());
  }

  @Test
  void userErrorsAreOneLineWithExitCode2() throws IOException {
    Path in = tmp.resolve("in.txt");
    Files.writeString(in, prose());
    Path existing = Files.createDirectories(tmp.resolve("exists"));
    List<String[]> bad =
        List.of(
            new String[] {
              "clean", "-i", in.toString(), "-o", tmp.resolve("o").toString(), "--no-such-flag"
            },
            new String[] {
              "clean", "-i", tmp.resolve("missing").toString(), "-o", tmp.resolve("o").toString()
            },
            new String[] {"clean", "-i", in.toString(), "-o", existing.toString()},
            new String[] {
              "clean", "-i", in.toString(), "-o", tmp.resolve("o").toString(), "--doc-split", "page"
            },
            new String[] {
              "clean",
              "-i",
              in.toString(),
              "-o",
              tmp.resolve("o").toString(),
              "--languages",
              "en,xx"
            },
            new String[] {
              "clean", "-i", in.toString(), "-o", tmp.resolve("o").toString(), "--skip", "decode"
            },
            new String[] {"clean", "-o", tmp.resolve("o").toString()},
            new String[] {"no-such-command"});
    for (String[] args : bad) {
      Result r = cli(args);
      assertEquals(2, r.code(), String.join(" ", args) + " -> " + r.err());
      String[] lines = r.err().strip().split("\n");
      assertEquals(1, lines.length, "one line: " + r.err());
      assertFalse(r.err().contains("\tat "), r.err());
    }
    assertTrue(cli("clean", "--help").out().contains("--doc-split"));
    assertEquals(0, cli("--help").code());
  }

  @Test
  void outputIsCommittedAtomicallyAndOverwriteReplacesIt() throws IOException {
    Path in = tmp.resolve("in.txt");
    Files.writeString(in, prose());
    Path out = tmp.resolve("out");
    // A stale in-progress directory from a killed run is not mistaken for output and is cleared.
    Path stale = Files.createDirectories(tmp.resolve(".out.inprogress"));
    Files.writeString(stale.resolve("part-00000.json"), "{\"half\": true}\n");
    clean("-i", in.toString(), "-o", out.toString(), "--output-format", "jsonl");
    assertTrue(Files.exists(out.resolve("_SUCCESS")));
    assertFalse(Files.exists(stale), "in-progress directory is gone after the commit");
    assertEquals(1, rows(out).size());
    assertEquals(
        2, cli("clean", "-i", in.toString(), "-o", out.toString()).code(), "no silent overwrite");
    clean("-i", in.toString(), "-o", out.toString(), "--output-format", "jsonl", "--overwrite");
    assertEquals(1, rows(out).size());
  }
}
