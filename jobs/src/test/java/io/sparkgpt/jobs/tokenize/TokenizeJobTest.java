package io.sparkgpt.jobs.tokenize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.cluster.SparkRuntime;
import io.sparkgpt.jobs.Cli;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import io.sparkgpt.tokenizer.dataset.Dtype;
import io.sparkgpt.tokenizer.dataset.Manifest;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tokenize job end to end on the bundled sample corpus: contents, per-source counts,
 * determinism of both orders, resumption after a kill, the reader's permutation across shards,
 * uint32 and Megatron output.
 */
class TokenizeJobTest {
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir static Path tmp;
  static Path wiki;
  static Path mixed;
  static Path code;

  /** The texts expected in the dataset: every decodable, non-empty document. */
  static List<String> texts = new ArrayList<>();

  /** Expected documents per source: the mixed file's source field, else the file. */
  static Map<String, Integer> docsPerSource = new TreeMap<>();

  static Map<String, Long> bytesPerSource = new TreeMap<>();

  static void expect(String text, String source) {
    texts.add(text);
    docsPerSource.merge(source, 1, Integer::sum);
    bytesPerSource.merge(source, (long) text.getBytes(StandardCharsets.UTF_8).length, Long::sum);
  }

  /**
   * Two JSONL inputs from {@code sample/}: WikiText paragraphs as they are (with an exact
   * duplicate, a truncated JSON line and a line of Latin-1 bytes, both rejected), and Shakespeare
   * speeches and Tang poems with a {@code source} field, plus an empty document and the whole play
   * as one long document; and the gzipped Python modules, whose records have no source.
   */
  @BeforeAll
  static void corpus() throws IOException {
    Path sample = Path.of("../sample");
    wiki = tmp.resolve("wiki.jsonl");
    Files.copy(sample.resolve("wiki.jsonl"), wiki);
    String wikiSource = "file:" + wiki.toAbsolutePath();
    for (String line :
        new String(Files.readAllBytes(wiki), StandardCharsets.ISO_8859_1).split("\n")) {
      try {
        JsonNode doc =
            JSON.readTree(
                StandardCharsets.UTF_8
                    .newDecoder()
                    .decode(ByteBuffer.wrap(line.getBytes(StandardCharsets.ISO_8859_1)))
                    .toString());
        String text = doc.get("text").asText();
        if (!text.isEmpty()) {
          expect(text, doc.has("source") ? doc.get("source").asText() : wikiSource);
        }
      } catch (IOException e) {
        // the truncated line and the Latin-1 line: rejected by the job too
      }
    }
    List<String> lines = new ArrayList<>();
    Map<String, List<String>> parts = new LinkedHashMap<>();
    parts.put(
        "shakespeare",
        Arrays.asList(Files.readString(sample.resolve("shakespeare.txt")).split("\n\n")));
    parts.put(
        "tang300", Arrays.asList(Files.readString(sample.resolve("tang300.txt")).split("\n\n")));
    for (int i = 0; i < 700; i++) {
      for (Map.Entry<String, List<String>> e : parts.entrySet()) {
        if (i < e.getValue().size() && !e.getValue().get(i).isBlank()) {
          String text = e.getValue().get(i).strip();
          lines.add(JSON.writeValueAsString(Map.of("text", text, "source", e.getKey())));
          expect(text, e.getKey());
        }
      }
    }
    lines.add(
        JSON.writeValueAsString(
            Map.of("text", "", "source", "tang300"))); // empty: counted, not stored
    String play =
        Files.readString(sample.resolve("shakespeare.txt")).strip(); // one document of 100k tokens
    lines.add(JSON.writeValueAsString(Map.of("text", play, "source", "shakespeare-whole")));
    expect(play, "shakespeare-whole");
    mixed = tmp.resolve("mixed.jsonl");
    Files.write(mixed, lines);
    code = tmp.resolve("code.jsonl.gz");
    Files.copy(sample.resolve("code.jsonl.gz"), code);
    try (var in =
        new java.io.BufferedReader(
            new java.io.InputStreamReader(
                new java.util.zip.GZIPInputStream(Files.newInputStream(code)),
                StandardCharsets.UTF_8))) {
      for (String line; (line = in.readLine()) != null; ) {
        expect(
            JSON.readTree(line).get("text").asText(),
            "file:" + code.toAbsolutePath()); // no source field
      }
    }
  }

  static String inputs() {
    return wiki + "," + mixed + "," + code;
  }

  static Cli.Result tokenize(Path out, String master, String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of(
                "tokenize",
                "--master",
                master,
                "-i",
                inputs(),
                "-t",
                "r50k_base",
                "-o",
                out.toString(),
                "--seq-len",
                "64",
                "--val-fraction",
                "0.1"));
    args.addAll(List.of(extra));
    if (!args.contains("--shard-tokens")) {
      args.addAll(List.of("--shard-tokens", "8000"));
    }
    Cli.Result r = Cli.run(args.toArray(String[]::new));
    assertEquals(0, r.code(), r.err());
    return r;
  }

  /**
   * The documents stored in a split, in file order, read straight from the little-endian shards.
   */
  static List<String> storedDocuments(Path dir, Manifest m, String split, Tokenizer tok)
      throws IOException {
    List<String> docs = new ArrayList<>();
    for (Manifest.Shard s : m.splits().get(split).shards()) {
      ByteBuffer b =
          ByteBuffer.wrap(Files.readAllBytes(dir.resolve(s.file()))).order(ByteOrder.LITTLE_ENDIAN);
      List<Integer> cur = new ArrayList<>();
      while (b.hasRemaining()) {
        int id = m.dtype() == Dtype.UINT16 ? Short.toUnsignedInt(b.getShort()) : b.getInt();
        if (id == tok.endOfTextId()) {
          docs.add(tok.decode(cur.stream().mapToInt(Integer::intValue).toArray()));
          cur.clear();
        } else {
          cur.add(id);
        }
      }
      assertTrue(cur.isEmpty(), "every shard ends with end-of-text");
    }
    return docs;
  }

  static List<String> sorted(List<String> docs) {
    List<String> s = new ArrayList<>(docs);
    s.sort(null);
    return s;
  }

  static Map<String, String> shardHashes(Manifest m) {
    Map<String, String> h = new TreeMap<>();
    m.splits().values().forEach(sp -> sp.shards().forEach(s -> h.put(s.file(), s.sha256())));
    return h;
  }

  static void assertSameFiles(Path a, Path b, Manifest m) throws IOException {
    for (String f : shardHashes(m).keySet()) {
      assertTrue(
          Arrays.equals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f))), f);
    }
  }

  @Test
  void storesEveryDocumentInDisjointSplitsAndCountsThemPerSource() throws IOException {
    Path out = tmp.resolve("ds");
    Cli.Result r = tokenize(out, "local[2]", "--partitions", "3");
    try (TokenDataset ds = TokenDataset.open(out)) {
      Manifest m = ds.manifest();
      Tokenizer tok = Tokenizers.r50kBase();
      List<String> train = storedDocuments(out, m, "train", tok);
      List<String> val = storedDocuments(out, m, "val", tok);
      Set<String> trainSet = new HashSet<>(train);
      assertTrue(
          val.stream().noneMatch(trainSet::contains),
          "splits are disjoint (duplicates go to one split)");
      List<String> all = new ArrayList<>(train);
      all.addAll(val);
      assertEquals(
          sorted(texts), sorted(all), "decoding the shards gives back exactly the documents");
      assertTrue(
          val.size() > 0.05 * texts.size() && val.size() < 0.15 * texts.size(),
          "val near 10%: " + val.size());
      assertTrue(m.splits().get("train").shards().size() > 3, "several shards");
      assertEquals(texts.size(), m.stats().documents());
      assertEquals(1, m.stats().emptyDocuments());
      assertEquals(2, m.stats().rejectedDocuments());
      long samples = m.splits().get("train").samples();
      assertEquals(samples, ds.numSamples("train"));
      ds.sample("train", (int) samples - 1, new int[65]);

      // per source: documents counted from the input, tokens and bytes sum to the dataset's
      Map<String, Integer> docs = new TreeMap<>();
      m.sources()
          .forEach(
              (k, v) -> {
                if (v.documents() > 0) {
                  docs.put(k, (int) v.documents());
                }
              });
      assertEquals(docsPerSource, docs);
      assertEquals(
          m.stats().tokens(),
          m.sources().values().stream().mapToLong(Manifest.Source::tokens).sum());
      assertEquals(
          m.stats().textBytes(),
          m.sources().values().stream().mapToLong(Manifest.Source::textBytes).sum());
      assertEquals(2, m.sources().get("file:" + wiki.toAbsolutePath()).rejectedDocuments());
      Map<String, Long> bytes = new TreeMap<>();
      m.sources()
          .forEach(
              (k, v) -> {
                if (v.documents() > 0) {
                  bytes.put(k, v.textBytes());
                }
              });
      assertEquals(bytesPerSource, bytes);
      // the end-of-job table
      assertTrue(
          r.out().contains("tang300")
              && r.out().contains("shakespeare")
              && r.out().contains("% tokens"),
          r.out());
    }
    List<String> rejected = new ArrayList<>();
    try (Stream<Path> parts = Files.list(out.resolve("rejected"))) {
      for (Path p : parts.toList()) {
        assertTrue(p.getFileName().toString().matches("part-\\d{5}\\.jsonl"), p.toString());
        rejected.addAll(Files.readAllLines(p));
      }
    }
    assertEquals(2, rejected.size());
    Set<String> reasons = new HashSet<>();
    for (String line : rejected) {
      String reason = JSON.readTree(line).get("reason").asText();
      reasons.add(reason.substring(0, reason.indexOf(':')));
    }
    assertEquals(Set.of("malformed_json", "invalid_utf8"), reasons);
  }

  @Test
  void samePartitionsGiveIdenticalShardsOnAnyNumberOfCoresAndOtherPartitionsTheSameDocuments()
      throws IOException {
    Path one = tmp.resolve("c1");
    Path two = tmp.resolve("c2");
    tokenize(one, "local[1]", "--partitions", "4");
    tokenize(two, "local[2]", "--partitions", "4");
    Manifest m1 = TokenDataset.open(one).manifest();
    Manifest m2 = TokenDataset.open(two).manifest();
    assertEquals(shardHashes(m1), shardHashes(m2));
    assertTrue(m1.splits().get("train").shards().size() >= 4, "each task writes its own shards");
    assertSameFiles(one, two, m1);

    Path other = tmp.resolve("p2");
    tokenize(other, "local[2]", "--partitions", "2");
    Manifest mo = TokenDataset.open(other).manifest();
    assertNotEquals(shardHashes(m1), shardHashes(mo), "another partitioning cuts other shards");
    Tokenizer tok = Tokenizers.r50kBase();
    for (String split : List.of("train", "val")) {
      assertEquals(
          sorted(storedDocuments(one, m1, split, tok)),
          sorted(storedDocuments(other, mo, split, tok)),
          split);
      assertEquals(m1.split(split).documents(), mo.split(split).documents());
      assertEquals(m1.split(split).tokens(), mo.split(split).tokens());
    }
    assertEquals(m1.sources(), mo.sources());

    Cli.Result again = tokenize(one, "local[2]", "--partitions", "4");
    assertTrue(again.err().contains("finished dataset"), again.err());
    assertEquals(shardHashes(m1), shardHashes(TokenDataset.open(one).manifest()));
  }

  /**
   * Parquet, clean's default output, read row by row: the same documents as its JSONL, shards fixed
   * by the input.
   */
  @Test
  void parquetInputGivesItsDocumentsAndTheSameShardsOnAnyNumberOfCores() throws IOException {
    Path parquet = tmp.resolve("mixed-parquet");
    try (org.apache.spark.sql.SparkSession spark =
        SparkRuntime.start("to parquet", "local[1]", false, Map.of())) {
      spark
          .read()
          .schema("text STRING, source STRING")
          .json(mixed.toString())
          .write()
          .parquet(parquet.toString());
    }
    List<String> expected = new ArrayList<>();
    Map<String, Integer> expectedPerSource = new TreeMap<>();
    for (String line : Files.readAllLines(mixed)) {
      JsonNode doc = JSON.readTree(line);
      if (!doc.get("text").asText().isEmpty()) {
        expected.add(doc.get("text").asText());
        expectedPerSource.merge(doc.get("source").asText(), 1, Integer::sum);
      }
    }
    Map<String, Manifest> manifests = new TreeMap<>();
    for (String master : List.of("local[1]", "local[2]")) {
      Path out = tmp.resolve("pq-" + master.charAt(6));
      Cli.Result r =
          Cli.run(
              "tokenize",
              "--master",
              master,
              "-i",
              parquet.toString(),
              "-t",
              "r50k_base",
              "-o",
              out.toString(),
              "--seq-len",
              "64",
              "--val-fraction",
              "0.1",
              "--shard-tokens",
              "8000",
              "--partitions",
              "3");
      assertEquals(0, r.code(), r.err());
      Manifest m = TokenDataset.open(out).manifest();
      manifests.put(master, m);
      Tokenizer tok = Tokenizers.r50kBase();
      List<String> all = new ArrayList<>(storedDocuments(out, m, "train", tok));
      all.addAll(storedDocuments(out, m, "val", tok));
      assertEquals(sorted(expected), sorted(all), master);
      assertEquals(1, m.stats().emptyDocuments());
      Map<String, Integer> perSource = new TreeMap<>();
      m.sources().forEach((k, v) -> perSource.put(k, (int) v.documents()));
      assertEquals(expectedPerSource, perSource);
    }
    assertEquals(shardHashes(manifests.get("local[1]")), shardHashes(manifests.get("local[2]")));
  }

  @Test
  void aRerunAfterLostShardsAndLeftoverTemporaryFilesIsIdenticalToAnUninterruptedRun()
      throws IOException {
    Path whole = tmp.resolve("whole");
    tokenize(whole, "local[2]", "--partitions", "3", "--shard-tokens", "2000");
    Path broken = tmp.resolve("broken");
    tokenize(broken, "local[2]", "--partitions", "3", "--shard-tokens", "2000");
    Manifest m = TokenDataset.open(broken).manifest();
    // as if the run had died: no manifest, task 1 lost a committed shard, task 2 its record, a
    // temporary file
    Files.delete(broken.resolve(Manifest.FILE));
    String lost =
        m.splits().get("train").shards().stream()
            .filter(s -> s.file().startsWith("train-00001-"))
            .findFirst()
            .orElseThrow()
            .file();
    Files.delete(broken.resolve(lost));
    Files.writeString(broken.resolve("train-00002-00000.bin.tmp-4000000000000001"), "partial");
    Files.copy(
        broken.resolve("train-00000-00000.bin"),
        broken.resolve("train-00000-00001.bin"),
        java.nio.file.StandardCopyOption
            .REPLACE_EXISTING); // a corrupted committed shard: size no longer matches
    Files.writeString(broken.resolve("task-00002.json"), "{\"task\": 2, \"truncated");
    tokenize(broken, "local[1]", "--partitions", "3", "--shard-tokens", "2000");
    Manifest again = TokenDataset.open(broken).manifest();
    assertEquals(shardHashes(TokenDataset.open(whole).manifest()), shardHashes(again));
    assertSameFiles(whole, broken, again);
    try (Stream<Path> s = Files.list(broken)) {
      assertTrue(
          s.map(p -> p.getFileName().toString())
              .noneMatch(n -> n.contains(".tmp-") || n.startsWith("task-")),
          "temporary files and task records are cleaned up");
    }
  }

  @Test
  void aKilledJobRerunGivesTheSameDatasetAsAnUninterruptedOne() throws Exception {
    Path whole = tmp.resolve("k-whole");
    tokenize(whole, "local[2]", "--partitions", "4", "--shard-tokens", "1000");
    Path killed = tmp.resolve("killed");
    List<String> cmd =
        new ArrayList<>(
            List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    cmd.addAll(Arrays.asList(SparkRuntime.JAVA17_OPTIONS.split(" ")));
    cmd.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            "io.sparkgpt.jobs.SparkGpt",
            "tokenize",
            "--master",
            "local[1]",
            "-i",
            inputs(),
            "-t",
            "r50k_base",
            "-o",
            killed.toString(),
            "--seq-len",
            "64",
            "--val-fraction",
            "0.1",
            "--shard-tokens",
            "1000",
            "--partitions",
            "4"));
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(tmp.resolve("killed.log").toFile())
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (committedShards(killed) < 3 && p.isAlive() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    p.destroyForcibly().waitFor();
    assertFalse(
        Files.exists(killed.resolve(Manifest.FILE)),
        "killed before the end: " + Files.readString(tmp.resolve("killed.log")));
    assertTrue(committedShards(killed) >= 3, "killed mid-way, after some shards");
    assertThrows(
        IOException.class, () -> TokenDataset.open(killed), "an unfinished folder is refused");
    tokenize(killed, "local[2]", "--partitions", "4", "--shard-tokens", "1000");
    assertEquals(
        shardHashes(TokenDataset.open(whole).manifest()),
        shardHashes(TokenDataset.open(killed).manifest()));
  }

  static long committedShards(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(f -> f.getFileName().toString().endsWith(".shard.json")).count();
    }
  }

  @Test
  void theReadersEpochOrderDrawsFromEveryShardFromTheStart() throws IOException {
    Path out = tmp.resolve("perm");
    tokenize(out, "local[2]", "--partitions", "4", "--shard-tokens", "4000");
    try (TokenDataset ds = TokenDataset.open(out)) {
      List<Manifest.Shard> shards = ds.manifest().splits().get("train").shards();
      int[] shardOf = new int[ds.numSamples("train")];
      int next = 0;
      for (int k = 0; k < shards.size(); k++) {
        for (long i = 0; i < shards.get(k).samples(); i++) {
          shardOf[next++] = k;
        }
      }
      assertTrue(shards.size() >= 8, shards.size() + " shards");
      int[] order = ds.epochPermutation("train", 0, 1);
      // the first half of the epoch already takes samples from every shard, and no shard runs in
      // file order
      Set<Integer> seen = new HashSet<>();
      for (int i = 0; i < order.length / 2; i++) {
        seen.add(shardOf[order[i]]);
      }
      assertEquals(shards.size(), seen.size());
      int consecutive = 0;
      for (int i = 1; i < order.length; i++) {
        consecutive += order[i] == order[i - 1] + 1 ? 1 : 0;
      }
      assertTrue(consecutive < order.length / 20, consecutive + " consecutive of " + order.length);
    }
  }

  @Test
  void globalShuffleGivesIdenticalShardsForAnyPartitioningAndTheSameDocuments() throws IOException {
    Path a = tmp.resolve("g1");
    Path b = tmp.resolve("g4");
    tokenize(a, "local[1]", "--global-shuffle", "--partitions", "1");
    tokenize(b, "local[2]", "--global-shuffle", "--partitions", "4");
    Manifest ma = TokenDataset.open(a).manifest();
    Manifest mb = TokenDataset.open(b).manifest();
    assertEquals(shardHashes(ma), shardHashes(mb));
    assertSameFiles(a, b, ma);
    assertEquals(ma.sources(), mb.sources());
    assertFalse(Files.exists(b.resolve("_spill")), "the spill files are deleted");
    assertEquals(2, ma.stats().rejectedDocuments());

    Path plain = tmp.resolve("g-default");
    tokenize(plain, "local[2]", "--partitions", "4");
    Manifest mp = TokenDataset.open(plain).manifest();
    Tokenizer tok = Tokenizers.r50kBase();
    for (String split : List.of("train", "val")) {
      List<String> shuffled = storedDocuments(a, ma, split, tok);
      List<String> inOrder = storedDocuments(plain, mp, split, tok);
      assertEquals(sorted(inOrder), sorted(shuffled), split + ": the same documents");
      if (split.equals("train")) {
        assertNotEquals(inOrder, shuffled, "in another order");
      }
    }
    assertEquals(mp.sources(), ma.sources());
    assertEquals(mp.stats().tokens(), ma.stats().tokens());
  }

  @Test
  void largeVocabulariesAreStoredAsUint32AndMegatronOutputOpens() throws IOException {
    Path big = tmp.resolve("cl100k");
    List<String> args =
        new ArrayList<>(
            List.of(
                "tokenize",
                "--master",
                "local[2]",
                "-i",
                inputs(),
                "-t",
                "cl100k_base",
                "-o",
                big.toString(),
                "--seq-len",
                "64",
                "--shard-tokens",
                "20000",
                "--partitions",
                "2"));
    assertEquals(0, Cli.run(args.toArray(String[]::new)).code());
    args.add("--global-shuffle");
    args.set(args.indexOf(big.toString()), big + "-g");
    assertEquals(0, Cli.run(args.toArray(String[]::new)).code());
    Tokenizer cl100k = Tokenizers.load("cl100k_base");
    for (Path dir : List.of(big, Path.of(big + "-g"))) {
      try (TokenDataset ds = TokenDataset.open(dir)) {
        Manifest m = ds.manifest();
        assertEquals(Dtype.UINT32, m.dtype());
        assertTrue(m.vocabSize() > 65_536);
        List<String> all = new ArrayList<>(storedDocuments(dir, m, "train", cl100k));
        all.addAll(storedDocuments(dir, m, "val", cl100k));
        assertEquals(sorted(texts), sorted(all));
        int max = 0;
        for (Manifest.Shard sh : m.allShards()) {
          ByteBuffer b =
              ByteBuffer.wrap(Files.readAllBytes(dir.resolve(sh.file())))
                  .order(ByteOrder.LITTLE_ENDIAN);
          while (b.hasRemaining()) {
            int id = b.getInt();
            max = id == cl100k.endOfTextId() ? max : Math.max(max, id);
          }
        }
        assertTrue(max > 65_535, "ids above uint16: " + max);
        int[] sample = new int[65];
        ds.sample("train", ds.numSamples("train") - 1, sample);
      }
    }

    Path mega = tmp.resolve("megatron");
    tokenize(mega, "local[2]", "--format", "megatron", "--partitions", "2");
    try (TokenDataset ds = TokenDataset.open(mega)) {
      JsonNode manifest = JSON.readTree(mega.resolve(Manifest.FILE).toFile());
      assertEquals("megatron", manifest.get("format").asText());
      for (Manifest.Shard s : ds.manifest().allShards()) {
        assertTrue(Files.exists(mega.resolve(s.idxFile())), s.idxFile());
      }
      assertEquals(texts.size(), ds.manifest().stats().documents());
    }
  }

  @Test
  void aCorruptedShardIsDetected() throws IOException {
    Path out = tmp.resolve("corrupt");
    tokenize(out, "local[2]");
    Manifest m = TokenDataset.open(out).manifest();
    String shard = m.splits().get("train").shards().get(0).file();
    try (RandomAccessFile f = new RandomAccessFile(out.resolve(shard).toFile(), "rw")) {
      f.seek(100);
      int b = f.read();
      f.seek(100);
      f.write(b ^ 0x01);
    }
    IOException e = assertThrows(IOException.class, () -> TokenDataset.open(out));
    assertTrue(e.getMessage().contains("sha256 mismatch"), e.getMessage());
  }
}
