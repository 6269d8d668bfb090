package io.sparkgpt.tokenizer.dataset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Native datasets of real text: round trip, manifest against files, samples, determinism. */
class NativeDatasetTest {
  @TempDir Path tmp;

  @Test
  void r50kRoundTripUint16() throws IOException {
    Tokenizer tok = Tokenizers.load("r50k_base");
    MiniJob job = new MiniJob(tok, "r50k_base");
    List<TestDocs.Doc> docs = TestDocs.mixed();
    Manifest m = job.run(DatasetFiles.local(tmp), docs);
    assertEquals(Dtype.UINT16, m.dtype());
    assertEquals(50257, m.vocabSize());
    assertEquals(50256, m.eotId());
    checkRoundTrip(tmp, tok, job, docs, m);
    checkManifestAgainstFiles(tmp, tok, docs, m);
    checkSamples(tmp, m);
    System.out.println(m.summary());
  }

  @Test
  void cl100kRoundTripUint32() throws IOException {
    Tokenizer tok = Tokenizers.load("cl100k_base");
    MiniJob job = new MiniJob(tok, "cl100k_base");
    job.seqLen = 128;
    job.trainShards = 2;
    List<TestDocs.Doc> docs = TestDocs.chinese();
    Manifest m = job.run(DatasetFiles.local(tmp), docs);
    assertEquals(Dtype.UINT32, m.dtype());
    assertEquals(tok.vocabSize(), m.vocabSize());
    assertTrue(m.vocabSize() > 1 << 16);
    checkRoundTrip(tmp, tok, job, docs, m);
    checkManifestAgainstFiles(tmp, tok, docs, m);
    checkSamples(tmp, m);
    // the stored tokenizer is the same tokenizer
    try (TokenDataset ds = TokenDataset.open(tmp)) {
      Tokenizer copy = ds.tokenizer();
      String text = docs.get(3).text();
      assertArrayEquals(tok.encode(text), copy.encode(text));
    }
  }

  /**
   * Every shard decodes to its documents, in shuffle order, each followed by end-of-text; nothing
   * else.
   */
  static void checkRoundTrip(
      Path dir, Tokenizer tok, MiniJob job, List<TestDocs.Doc> docs, Manifest m)
      throws IOException {
    Map<String, List<List<TestDocs.Doc>>> plan = job.plan(docs);
    int eot = m.eotId();
    int stored = 0;
    for (Map.Entry<String, Manifest.Split> e : m.splits().entrySet()) {
      List<Manifest.Shard> shards = e.getValue().shards();
      assertEquals(plan.get(e.getKey()).size(), shards.size());
      for (int k = 0; k < shards.size(); k++) {
        int[] raw = TestDocs.rawTokens(dir.resolve(shards.get(k).file()), m.dtype());
        List<TestDocs.Doc> expected = new ArrayList<>();
        for (TestDocs.Doc d : plan.get(e.getKey()).get(k)) {
          if (!d.text().isEmpty()) {
            expected.add(d);
          }
        }
        assertTrue(raw.length == 0 || raw[raw.length - 1] == eot, "shard ends with end-of-text");
        List<int[]> pieces = TestDocs.splitAtEot(raw, eot);
        assertEquals(expected.size(), pieces.size(), shards.get(k).file());
        StringBuilder joined = new StringBuilder();
        for (int i = 0; i < pieces.size(); i++) {
          assertEquals(
              expected.get(i).text(),
              tok.decode(pieces.get(i)),
              shards.get(k).file() + " document " + i);
          joined.append(expected.get(i).text()).append("<|endoftext|>");
        }
        assertEquals(joined.toString(), tok.decode(raw));
        stored += pieces.size();
      }
    }
    long nonEmpty = docs.stream().filter(d -> !d.text().isEmpty()).count();
    assertEquals(nonEmpty, stored, "every non-empty document stored exactly once");
  }

  /** The manifest's numbers are those of the files and of the input. */
  static void checkManifestAgainstFiles(
      Path dir, Tokenizer tok, List<TestDocs.Doc> docs, Manifest m) throws IOException {
    m.validate();
    assertEquals(m.seqLen() + 1, m.sampleTokens());
    long docsTotal = 0, tokensTotal = 0, samplesTotal = 0, textBytes = 0;
    for (Map.Entry<String, Manifest.Split> e : m.splits().entrySet()) {
      long d = 0, t = 0, s = 0;
      for (Manifest.Shard sh : e.getValue().shards()) {
        Path f = dir.resolve(sh.file());
        assertEquals(sh.bytes(), Files.size(f));
        int[] raw = TestDocs.rawTokens(f, m.dtype());
        assertEquals(sh.tokens(), raw.length);
        assertEquals(sh.documents(), Arrays.stream(raw).filter(x -> x == m.eotId()).count());
        assertEquals(raw.length / m.sampleTokens(), sh.samples());
        assertEquals(raw.length % m.sampleTokens(), sh.unsampledTokens());
        assertEquals(Sha256.of(f), sh.sha256());
        d += sh.documents();
        t += sh.tokens();
        s += sh.samples();
      }
      assertEquals(d, e.getValue().documents());
      assertEquals(t, e.getValue().tokens());
      assertEquals(s, e.getValue().samples());
      docsTotal += d;
      tokensTotal += t;
      samplesTotal += s;
    }
    long empty = docs.stream().filter(x -> x.text().isEmpty()).count();
    for (TestDocs.Doc x : docs) {
      textBytes += x.text().getBytes(StandardCharsets.UTF_8).length;
    }
    long encodedTokens = docs.stream().mapToLong(x -> TestDocs.encode(tok, x).length).sum();
    Manifest.Stats st = m.stats();
    assertEquals(docs.size() - empty, st.documents());
    assertEquals(docsTotal, st.documents());
    assertEquals(empty, st.emptyDocuments());
    assertEquals(tokensTotal, st.tokens());
    assertEquals(encodedTokens + st.documents(), st.tokens());
    assertEquals(samplesTotal, st.samples());
    assertEquals(textBytes, st.textBytes());
    assertEquals(textBytes / (double) encodedTokens, st.bytesPerToken(), 1e-3);
    assertEquals(m.allShards().size(), st.shards());
    assertEquals(Sha256.of(dir.resolve(m.tokenizer().file())), m.tokenizer().sha256());
    assertTrue(st.tokensPerSecond() > 0);
  }

  /**
   * Sample i is the i-th (seq_len+1)-token window of the split's shards, each shard windowed from
   * its start.
   */
  static void checkSamples(Path dir, Manifest m) throws IOException {
    for (int chunkBytes :
        new int[] {
          TokenDataset.DEFAULT_CHUNK_BYTES, 3 * m.sampleTokens() * m.dtype().bytes() + 1
        }) {
      try (TokenDataset ds = TokenDataset.open(dir, true, chunkBytes)) {
        for (String split : m.splits().keySet()) {
          SampleReader r = ds.split(split);
          assertEquals(m.split(split).samples(), r.numSamples());
          int i = 0;
          int[] out = new int[r.sampleTokens()];
          for (Manifest.Shard sh : m.split(split).shards()) {
            int[] raw = TestDocs.rawTokens(dir.resolve(sh.file()), m.dtype());
            for (int j = 0; j < sh.samples(); j++, i++) {
              r.sample(i, out);
              assertArrayEquals(
                  Arrays.copyOfRange(raw, j * m.sampleTokens(), (j + 1) * m.sampleTokens()),
                  out,
                  split + " sample " + i);
            }
          }
          assertEquals(r.numSamples(), i);
        }
      }
    }
  }

  @Test
  void sameInputsGiveByteIdenticalDatasets() throws IOException {
    Tokenizer tok = Tokenizers.load("r50k_base");
    List<TestDocs.Doc> docs = TestDocs.mixed().subList(0, 1500);
    Path a = tmp.resolve("a");
    Path b = tmp.resolve("b");
    Manifest ma = new MiniJob(tok, "r50k_base").run(DatasetFiles.local(a), docs);
    // the same documents in another input order: the shards do not depend on it
    List<TestDocs.Doc> reversed = new ArrayList<>(docs);
    java.util.Collections.reverse(reversed);
    Manifest mb = new MiniJob(tok, "r50k_base").run(DatasetFiles.local(b), reversed);
    List<String> files = DatasetFiles.local(a).list();
    assertEquals(files, DatasetFiles.local(b).list());
    for (String f : files) {
      if (f.endsWith(".bin") || f.equals("tokenizer.json")) {
        assertArrayEquals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)), f);
      }
    }
    assertEquals(withoutTimes(ma), withoutTimes(mb));
    // and a different seed gives a different dataset
    MiniJob other = new MiniJob(tok, "r50k_base");
    other.seed = 99;
    Manifest mc = other.run(DatasetFiles.local(tmp.resolve("c")), docs);
    assertFalse(
        Arrays.equals(
            Files.readAllBytes(a.resolve("train-00000.bin")),
            Files.readAllBytes(tmp.resolve("c").resolve("train-00000.bin"))));
    assertEquals(ma.stats().documents(), mc.stats().documents());
  }

  /** The manifest without the wall-clock fields. */
  static Map<String, Object> withoutTimes(Manifest m) throws IOException {
    @SuppressWarnings("unchecked")
    Map<String, Object> tree = Manifest.JSON.readValue(m.toBytes(), Map.class);
    strip(tree);
    return tree;
  }

  @SuppressWarnings("unchecked")
  private static void strip(Object node) {
    if (node instanceof Map<?, ?> map) {
      ((Map<String, Object>) map)
          .keySet()
          .removeIf(k -> k.equals("seconds") || k.equals("tokens_per_second"));
      map.values().forEach(NativeDatasetTest::strip);
    } else if (node instanceof List<?> list) {
      list.forEach(NativeDatasetTest::strip);
    }
  }

  @Test
  void tokenizerCopyIsCanonical() throws IOException {
    Tokenizer tok = Tokenizers.load("cl100k_base");
    DatasetFiles files = DatasetFiles.local(tmp);
    Manifest.TokenizerInfo info = DatasetWriter.writeTokenizer(files, tok, "cl100k_base");
    assertEquals("tokenizer.json", info.file());
    @SuppressWarnings("unchecked")
    Map<String, Object> json =
        Manifest.JSON.readValue(tmp.resolve("tokenizer.json").toFile(), Map.class);
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> added = (List<Map<String, Object>>) json.get("added_tokens");
    int last = -1;
    for (Map<String, Object> t : added) {
      int id = (Integer) t.get("id");
      assertTrue(id > last, "added_tokens sorted by id");
      last = id;
    }
    Map<String, Integer> specials = new HashMap<>(tok.specialTokens());
    assertEquals(specials.size(), added.size());
    // a .json spec is copied byte for byte
    Path src = tmp.resolve("src.json");
    Files.copy(tmp.resolve("tokenizer.json"), src);
    Path other = tmp.resolve("other");
    Manifest.TokenizerInfo copied =
        DatasetWriter.writeTokenizer(DatasetFiles.local(other), tok, src.toString());
    assertArrayEquals(Files.readAllBytes(src), Files.readAllBytes(other.resolve("tokenizer.json")));
    assertEquals(info.sha256(), copied.sha256());
  }

  @Test
  void emptySplitsShardsAndShortShards() throws IOException {
    Tokenizer tok = Tokenizers.load("r50k_base");
    MiniJob job = new MiniJob(tok, "r50k_base");
    job.valFraction = 0; // val gets one shard and no documents
    job.trainShards = 40; // more shards than this corpus fills a sample of
    job.seqLen = 2048;
    List<TestDocs.Doc> docs = TestDocs.mixed().subList(0, 200);
    Manifest m = job.run(DatasetFiles.local(tmp), docs);
    assertEquals(0, m.split("val").documents());
    assertEquals(0, Files.size(tmp.resolve("val-00000.bin")));
    assertTrue(
        m.split("train").shards().stream().anyMatch(s -> s.samples() == 0 && s.tokens() > 0));
    checkRoundTrip(tmp, tok, job, docs, m);
    checkSamples(tmp, m);
    try (TokenDataset ds = TokenDataset.open(tmp)) {
      assertEquals(0, ds.numSamples("val"));
      assertEquals(0, ds.epochPermutation("val", 0, 1).length);
      assertEquals(0, ds.slice("val", 1, 2).size());
      assertThrows(
          IndexOutOfBoundsException.class, () -> ds.sample("val", 0, new int[ds.sampleTokens()]));
      assertThrows(IllegalArgumentException.class, () -> ds.split("test"));
    }
  }

  /** A Path of another file system provider (here a zip) is read without memory mapping. */
  @Test
  void readsThroughANonDefaultFileSystem() throws IOException {
    Tokenizer tok = Tokenizers.load("r50k_base");
    MiniJob job = new MiniJob(tok, "r50k_base");
    Path dir = tmp.resolve("ds");
    Manifest m = job.run(DatasetFiles.local(dir), TestDocs.mixed().subList(0, 600));
    Path zip = tmp.resolve("ds.zip");
    try (java.nio.file.FileSystem zfs =
        java.nio.file.FileSystems.newFileSystem(zip, Map.of("create", "true"))) {
      for (String f : DatasetFiles.local(dir).list()) {
        Files.copy(dir.resolve(f), zfs.getPath("/" + f));
      }
    }
    try (java.nio.file.FileSystem zfs = java.nio.file.FileSystems.newFileSystem(zip);
        TokenDataset fromZip = TokenDataset.open(zfs.getPath("/"), true, 5 * m.sampleTokens() * 2);
        TokenDataset local = TokenDataset.open(dir)) {
      for (String split : m.splits().keySet()) {
        assertEquals(local.numSamples(split), fromZip.numSamples(split));
        for (int i = 0; i < local.numSamples(split); i++) {
          assertArrayEquals(local.split(split).sample(i), fromZip.split(split).sample(i));
        }
      }
    }
  }
}
