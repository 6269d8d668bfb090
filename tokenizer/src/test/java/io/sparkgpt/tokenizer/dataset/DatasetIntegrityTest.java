package io.sparkgpt.tokenizer.dataset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgpt.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reader refuses damaged datasets with one-line messages naming the file. */
class DatasetIntegrityTest {
  @TempDir Path dir;
  Manifest manifest;

  @BeforeEach
  void write() throws IOException {
    MiniJob job = new MiniJob(Tokenizers.load("r50k_base"), "r50k_base");
    manifest = job.run(DatasetFiles.local(dir), TestDocs.mixed().subList(0, 800));
    try (TokenDataset ds = TokenDataset.open(dir)) {
      assertEquals(manifest.split("train").samples(), ds.numSamples("train"));
    }
  }

  private String refused(boolean verify, String... fragments) {
    InvalidDatasetException e =
        assertThrows(InvalidDatasetException.class, () -> TokenDataset.open(dir, verify));
    String msg = e.getMessage();
    assertFalse(msg.contains("\n"), "one line: " + msg);
    assertTrue(msg.startsWith(dir.toString()), msg);
    for (String f : fragments) {
      assertTrue(msg.contains(f), "'" + msg + "' should contain '" + f + "'");
    }
    return msg;
  }

  @Test
  void flippedByteIsAChecksumMismatch() throws IOException {
    Path f = dir.resolve("train-00001.bin");
    byte[] b = Files.readAllBytes(f);
    b[b.length / 2] ^= 0x01;
    Files.write(f, b);
    String actual = Sha256.of(f);
    String expected = manifest.split("train").shards().get(1).sha256();
    refused(
        true,
        "shard train-00001.bin: sha256 mismatch (manifest " + expected + ", file " + actual + ")");
    // checksums are switchable: the size is still right, so it opens without them
    try (TokenDataset ds = TokenDataset.open(dir, false)) {
      assertEquals(manifest.split("train").samples(), ds.numSamples("train"));
    }
  }

  @Test
  void truncatedShardIsASizeError() throws IOException {
    Path f = dir.resolve("train-00000.bin");
    long size = Files.size(f);
    try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
      ch.truncate(size - 2);
    }
    refused(
        false,
        "shard train-00000.bin: "
            + (size - 2)
            + " bytes, the manifest says "
            + size
            + " (truncated)");
    Files.write(f, new byte[4], java.nio.file.StandardOpenOption.APPEND);
    refused(false, "shard train-00000.bin", "(longer than written)");
  }

  @Test
  void shardFromElsewhereIsRefused() throws IOException {
    Files.copy(
        dir.resolve("val-00000.bin"),
        dir.resolve("train-00002.bin"),
        StandardCopyOption.REPLACE_EXISTING);
    refused(false, "shard train-00002.bin: ");
    Files.delete(dir.resolve("train-00002.bin"));
    refused(false, "shard train-00002.bin is missing");
  }

  private void editManifest(Consumer<ObjectNode> edit) throws IOException {
    ObjectNode root = (ObjectNode) Manifest.JSON.readTree(dir.resolve(Manifest.FILE).toFile());
    edit.accept(root);
    Files.write(dir.resolve(Manifest.FILE), Manifest.JSON.writeValueAsBytes(root));
  }

  private static ObjectNode shard(ObjectNode root, String split, int k) {
    return (ObjectNode) root.path("splits").path(split).path("shards").get(k);
  }

  @Test
  void manifestThatDisagreesWithItselfOrTheFiles() throws IOException {
    editManifest(
        r -> shard(r, "train", 0).put("tokens", shard(r, "train", 0).get("tokens").asLong() + 1));
    refused(false, "manifest.json: shard train-00000.bin: ", "disagree with sample_tokens");
    write();
    // consistent numbers for the shard, but not for its split
    int st = manifest.sampleTokens();
    editManifest(
        r -> {
          ObjectNode s = shard(r, "train", 0);
          long t = s.get("tokens").asLong() + st;
          s.put("tokens", t).put("samples", t / st).put("bytes", 2 * t);
        });
    refused(false, "manifest.json: split train totals disagree with its shards");
    write();
    // consistent everywhere, but not with the file
    editManifest(
        r -> {
          ObjectNode s = shard(r, "val", 0);
          ObjectNode split = (ObjectNode) r.path("splits").path("val");
          ObjectNode stats = (ObjectNode) r.path("stats");
          s.put("tokens", s.get("tokens").asLong() + st)
              .put("samples", s.get("samples").asLong() + 1)
              .put("bytes", s.get("bytes").asLong() + 2L * st);
          split
              .put("tokens", split.get("tokens").asLong() + st)
              .put("samples", split.get("samples").asLong() + 1);
          stats
              .put("tokens", stats.get("tokens").asLong() + st)
              .put("samples", stats.get("samples").asLong() + 1);
        });
    refused(false, "shard val-00000.bin: ", "(truncated)");
    write();
    editManifest(r -> r.put("sample_tokens", 1000));
    refused(false, "sample_tokens 1000 != seq_len + 1 = 65");
    write();
    editManifest(r -> r.put("dtype", "uint8"));
    refused(false, "manifest.json: invalid manifest", "uint8");
  }

  @Test
  void missingOrForeignManifest() throws IOException {
    editManifest(r -> r.put("format_version", 2));
    refused(false, "unsupported format_version 2 (this reader knows 1)");
    Files.writeString(dir.resolve(Manifest.FILE), "{\"format_version\": 1, \"format\": ");
    refused(false, "manifest.json: malformed JSON");
    Files.writeString(dir.resolve(Manifest.FILE), "{\"name\": \"something else\"}");
    refused(false, "no format_version");
    Files.delete(dir.resolve(Manifest.FILE));
    refused(false, "no manifest.json");
  }

  @Test
  void corruptedTokenizerCopy() throws IOException {
    Files.writeString(dir.resolve("tokenizer.json"), "{}");
    refused(true, "tokenizer copy tokenizer.json: sha256 mismatch");
  }
}
