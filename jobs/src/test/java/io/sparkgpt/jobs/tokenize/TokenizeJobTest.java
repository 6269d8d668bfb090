package io.sparkgpt.jobs.tokenize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.cluster.SparkRuntime;
import io.sparkgpt.jobs.Cli;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import io.sparkgpt.tokenizer.dataset.Manifest;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tokenize job end to end: contents, determinism, splits, resumption after a kill, corruption. */
class TokenizeJobTest {
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir
  static Path tmp;
  static Path input;
  static List<String> texts = new ArrayList<>();

  @BeforeAll
  static void corpus() throws IOException {
    Path c = TokenizerCommandsTest.corpus();
    for (String line : Files.readAllLines(c.resolve("prose_en/wikitext-2-raw-v1.test.txt"))) {
      if (line.strip().length() > 200 && texts.size() < 400) {
        texts.add(line.strip());
      }
    }
    for (String p : Files.readString(c.resolve("zh/fortunes-zh-tang300.txt")).split("\n\n")) {
      if (!p.isBlank() && texts.size() < 600) {
        texts.add(p.strip());
      }
    }
    texts = new ArrayList<>(new java.util.LinkedHashSet<>(texts));
    List<String> lines = new ArrayList<>();
    for (String t : texts) {
      lines.add(JSON.writeValueAsString(Map.of("text", t)));
    }
    lines.add("{\"text\": \"broken");                  // quarantined while reading
    lines.add(JSON.writeValueAsString(Map.of("text", ""))); // empty
    input = tmp.resolve("docs.jsonl");
    Files.write(input, lines);
  }

  static Cli.Result tokenize(Path out, String... extra) {
    List<String> args = new ArrayList<>(List.of("tokenize", "--master", "local[2]", "-i", input.toString(), "-t",
        "r50k_base", "-o", out.toString(), "--seq-len", "64", "--val-fraction", "0.1"));
    args.addAll(List.of(extra));
    if (!args.contains("--shard-tokens")) {
      args.addAll(List.of("--shard-tokens", "8000"));
    }
    Cli.Result r = Cli.run(args.toArray(String[]::new));
    assertEquals(0, r.code(), r.err());
    return r;
  }

  /** The documents stored in a split, in file order, read straight from the little-endian uint16 shards. */
  static List<String> storedDocuments(Path dir, Manifest m, String split, Tokenizer tok) throws IOException {
    List<String> docs = new ArrayList<>();
    for (Manifest.Shard s : m.splits().get(split).shards()) {
      ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(dir.resolve(s.file()))).order(ByteOrder.LITTLE_ENDIAN);
      List<Integer> cur = new ArrayList<>();
      while (b.hasRemaining()) {
        int id = Short.toUnsignedInt(b.getShort());
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

  static Map<String, String> shardHashes(Manifest m) {
    Map<String, String> h = new TreeMap<>();
    m.splits().values().forEach(sp -> sp.shards().forEach(s -> h.put(s.file(), s.sha256())));
    return h;
  }

  @Test
  void storesEveryDocumentOnceInDisjointSplitsAndCountsTheRest() throws IOException {
    Path out = tmp.resolve("ds");
    Cli.Result r = tokenize(out);
    assertTrue(r.out().contains("bytes/token"), r.out());
    try (TokenDataset ds = TokenDataset.open(out)) {
      Manifest m = ds.manifest();
      Tokenizer tok = Tokenizers.r50kBase();
      List<String> train = storedDocuments(out, m, "train", tok);
      List<String> val = storedDocuments(out, m, "val", tok);
      Set<String> trainSet = new HashSet<>(train);
      assertEquals(train.size(), trainSet.size(), "no document twice");
      assertTrue(val.stream().noneMatch(trainSet::contains), "splits are disjoint");
      List<String> all = new ArrayList<>(train);
      all.addAll(val);
      all.sort(null);
      List<String> expected = new ArrayList<>(texts);
      expected.sort(null);
      assertEquals(expected, all, "decoding the shards gives back exactly the documents");
      assertTrue(val.size() > 20 && val.size() < 120, "val share near 10%: " + val.size());
      assertTrue(m.splits().get("train").shards().size() > 3, "several shards");
      assertEquals(texts.size(), m.stats().documents());
      assertEquals(1, m.stats().emptyDocuments());
      assertEquals(1, m.stats().rejectedDocuments());
      long samples = m.splits().get("train").samples();
      assertEquals(samples, ds.numSamples("train"));
      int[] sample = new int[65];
      ds.sample("train", (int) samples - 1, sample);
    }
    List<String> rejected = new ArrayList<>();
    try (Stream<Path> parts = Files.list(out.resolve("rejected"))) {
      for (Path p : parts.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
        rejected.addAll(Files.readAllLines(p));
      }
    }
    assertEquals(1, rejected.size());
    assertTrue(JSON.readTree(rejected.get(0)).get("reason").asText().startsWith("malformed_json"), rejected.get(0));
  }

  @Test
  void shardsAreByteIdenticalWith1And4PartitionsAndARerunIsANoOp() throws IOException {
    Path a = tmp.resolve("p1");
    Path b = tmp.resolve("p4");
    tokenize(a, "--partitions", "1");
    tokenize(b, "--partitions", "4");
    Manifest ma = TokenDataset.open(a).manifest();
    Manifest mb = TokenDataset.open(b).manifest();
    assertEquals(shardHashes(ma), shardHashes(mb));
    for (String f : shardHashes(ma).keySet()) {
      assertTrue(Arrays.equals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f))), f);
    }
    Cli.Result again = tokenize(a);
    assertTrue(again.err().contains("finished dataset"), again.err());
  }

  @Test
  void aKilledJobRerunGivesTheSameDatasetAsAnUninterruptedOne() throws Exception {
    Path whole = tmp.resolve("whole");
    tokenize(whole, "--shard-tokens", "1000");
    Path killed = tmp.resolve("killed");
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    cmd.addAll(Arrays.asList(SparkRuntime.JAVA17_OPTIONS.split(" ")));
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.sparkgpt.jobs.SparkGpt", "tokenize",
        "--master", "local[1]", "-i", input.toString(), "-t", "r50k_base", "-o", killed.toString(), "--seq-len", "64",
        "--val-fraction", "0.1", "--shard-tokens", "1000"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("killed.log").toFile())
        .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (committedShards(killed) < 3 && p.isAlive() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    p.destroyForcibly().waitFor();
    assertFalse(Files.exists(killed.resolve(Manifest.FILE)), "killed before the end: "
        + Files.readString(tmp.resolve("killed.log")));
    assertTrue(committedShards(killed) >= 3, "killed mid-way, after some shards");
    assertThrows(IOException.class, () -> TokenDataset.open(killed), "an unfinished folder is refused");
    tokenize(killed, "--shard-tokens", "1000");
    assertEquals(shardHashes(TokenDataset.open(whole).manifest()), shardHashes(TokenDataset.open(killed).manifest()));
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
  void aCorruptedShardIsDetectedAndMegatronOutputOpens() throws IOException {
    Path out = tmp.resolve("corrupt");
    tokenize(out);
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

    Path mega = tmp.resolve("megatron");
    tokenize(mega, "--format", "megatron");
    try (TokenDataset ds = TokenDataset.open(mega)) {
      JsonNode manifest = JSON.readTree(mega.resolve(Manifest.FILE).toFile());
      assertEquals("megatron", manifest.get("format").asText());
      assertTrue(Files.exists(mega.resolve(ds.manifest().splits().get("train").shards().get(0).idxFile())));
      assertEquals(texts.size(), ds.manifest().stats().documents());
    }
  }
}
