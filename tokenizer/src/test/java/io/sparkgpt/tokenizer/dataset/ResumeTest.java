package io.sparkgpt.tokenizer.dataset;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Crashes leave no finished-looking garbage, and reruns complete the dataset exactly. */
class ResumeTest {
  @TempDir Path tmp;

  static void assertSameDataset(Path expected, Path actual) throws IOException {
    List<String> names = DatasetFiles.local(expected).list();
    assertEquals(names, DatasetFiles.local(actual).list());
    for (String f : names) {
      if (!f.endsWith(".json")) {
        assertArrayEquals(
            Files.readAllBytes(expected.resolve(f)), Files.readAllBytes(actual.resolve(f)), f);
      }
    }
    try (TokenDataset a = TokenDataset.open(expected);
        TokenDataset b = TokenDataset.open(actual)) {
      assertEquals(
          NativeDatasetTest.withoutTimes(a.manifest()),
          NativeDatasetTest.withoutTimes(b.manifest()));
    }
  }

  @Test
  void crashesThenRerunGiveTheSameDataset() throws IOException {
    Tokenizer tok = Tokenizers.load("r50k_base");
    List<TestDocs.Doc> docs = TestDocs.mixed().subList(0, 2000);
    Path clean = tmp.resolve("clean");
    new MiniJob(tok, "r50k_base").run(DatasetFiles.local(clean), docs);

    Path dir = tmp.resolve("crashed");
    DatasetFiles files = DatasetFiles.local(dir);
    // run 1 dies half-way through train-00001: its temp file stays behind
    MiniJob run1 = new MiniJob(tok, "r50k_base");
    run1.crashShard = "train-00001";
    run1.crashAfterDocs = 50;
    assertThrows(MiniJob.SimulatedCrash.class, () -> run1.run(files, docs));
    assertTrue(
        files.list().stream()
            .anyMatch(n -> n.startsWith("train-00001.bin" + DatasetFiles.TEMP_MARKER)));
    assertFalse(files.list().contains("train-00001.bin"));
    assertThrows(InvalidDatasetException.class, () -> TokenDataset.open(dir));

    // run 2 skips train-00000 and dies after renaming train-00002.bin, before its record
    MiniJob run2 = new MiniJob(tok, "r50k_base");
    run2.crashShard = "train-00002";
    run2.crashAfterDocs = -1;
    assertThrows(MiniJob.SimulatedCrash.class, () -> run2.run(files, docs));
    assertEquals(1, run2.skipped);
    assertTrue(files.list().contains("train-00002.bin"));
    assertFalse(files.list().contains("train-00002.shard.json"));
    assertFalse(files.list().contains(Manifest.FILE));

    // run 3 redoes train-00002 (no record) and val-00000, keeps the rest, writes the manifest,
    // cleans up
    MiniJob run3 = new MiniJob(tok, "r50k_base");
    Manifest m = run3.run(files, docs);
    assertEquals(2, run3.skipped);
    assertEquals(2, run3.written);
    assertTrue(files.list().stream().noneMatch(DatasetFiles::isTemporary), files.list().toString());
    assertSameDataset(clean, dir);
    NativeDatasetTest.checkRoundTrip(dir, tok, run3, docs, m);

    // run 4 finds the finished dataset and does nothing
    MiniJob run4 = new MiniJob(tok, "r50k_base");
    run4.run(files, docs);
    assertEquals(0, run4.skipped + run4.written);
  }

  @Test
  void changedParametersRewriteEveryShard() throws IOException {
    Tokenizer tok = Tokenizers.load("r50k_base");
    List<TestDocs.Doc> docs = TestDocs.mixed().subList(0, 1000);
    Path dir = tmp.resolve("dir");
    new MiniJob(tok, "r50k_base").run(DatasetFiles.local(dir), docs);
    MiniJob other = new MiniJob(tok, "r50k_base");
    other.seed = 77;
    other.trainShards = 2;
    other.seqLen = 32;
    other.run(DatasetFiles.local(dir), docs);
    assertEquals(0, other.skipped);
    assertFalse(
        Files.exists(dir.resolve("train-00002.bin")), "shards beyond the new count are removed");
    assertFalse(Files.exists(dir.resolve("train-00002.shard.json")));
    MiniJob same = new MiniJob(tok, "r50k_base");
    same.seed = 77;
    same.trainShards = 2;
    same.seqLen = 32;
    Path clean = tmp.resolve("clean");
    same.run(DatasetFiles.local(clean), docs);
    assertSameDataset(clean, dir);
  }

  @Test
  void abandonedWriterDeletesItsTempFiles() throws IOException {
    Tokenizer tok = Tokenizers.load("r50k_base");
    DatasetFiles files = DatasetFiles.local(tmp);
    Layout layout = Layout.of(Format.MEGATRON, tok, 16, "x", "");
    try (ShardWriter w = ShardWriter.create(files, "train", 0, layout)) {
      w.addText(tok, "hello world");
      assertThrows(IllegalArgumentException.class, () -> w.addDocument(new int[] {1, 50256, 2}, 3));
      assertThrows(IllegalArgumentException.class, () -> w.addDocument(new int[] {50257}, 3));
      assertEquals(1, w.documents());
    }
    assertEquals(List.of(), files.list());
    assertTrue(ShardWriter.finished(files, "train", 0, layout).isEmpty());
    try (ShardWriter w = ShardWriter.create(files, "train", 0, layout)) {
      w.addText(tok, "hello world");
      Manifest.Shard s = w.commit();
      assertEquals(3, s.tokens());
      assertThrows(IllegalStateException.class, () -> w.addText(tok, "more"));
    }
    assertEquals(
        List.of("train-00000.bin", "train-00000.idx", "train-00000.shard.json"), files.list());
    assertTrue(ShardWriter.finished(files, "train", 0, layout).isPresent());
    assertTrue(
        ShardWriter.finished(files, "train", 0, Layout.of(Format.MEGATRON, tok, 17, "x", ""))
            .isEmpty());
  }
}
