package io.sparkgpt.tokenizer.dataset;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 11, case 1: every file name a manifest gives (shards, indexes, the tokenizer copy) must be
 * a plain name inside the dataset folder; {@code ../}, absolute paths and links that lead out are
 * refused with one line naming the field, even when the file they point at exists and has the
 * recorded size and checksum.
 */
class PathSafetyTest {
  @TempDir Path root;
  Path dir;

  /**
   * A real one-shard dataset written by the writers (no test corpus: a few generated sentences).
   */
  static Manifest writeDataset(Path dir) throws IOException {
    Tokenizer tok = Tokenizers.load("r50k_base");
    DatasetFiles files = DatasetFiles.local(dir);
    Manifest.TokenizerInfo info = DatasetWriter.writeTokenizer(files, tok, "r50k_base");
    Layout layout = Layout.of(Format.NATIVE, tok, 8, info.sha256(), "test");
    try (ShardWriter w = ShardWriter.create(files, Manifest.TRAIN, 0, layout)) {
      for (int i = 0; i < 40; i++) {
        w.addText(tok, "Sentence number " + i + " of a small generated dataset.");
      }
      w.commit();
    }
    Map<String, Integer> shards = new LinkedHashMap<>();
    shards.put(Manifest.TRAIN, 1);
    return DatasetWriter.finish(files, layout, info, shards, 1.0, Map.of());
  }

  @BeforeEach
  void write() throws IOException {
    dir = root.resolve("ds");
    writeDataset(dir);
    try (TokenDataset ds = TokenDataset.open(dir)) {
      assertTrue(ds.numSamples(Manifest.TRAIN) > 0);
    }
  }

  private void editManifest(Consumer<ObjectNode> edit) throws IOException {
    Path mf = dir.resolve(Manifest.FILE);
    ObjectNode m = (ObjectNode) Manifest.JSON.readTree(mf.toFile());
    edit.accept(m);
    Files.write(mf, Manifest.JSON.writeValueAsBytes(m));
  }

  private static ObjectNode shard(ObjectNode m) {
    return (ObjectNode) ((ArrayNode) m.path("splits").path("train").path("shards")).get(0);
  }

  private String refused(String... fragments) {
    InvalidDatasetException e =
        assertThrows(InvalidDatasetException.class, () -> TokenDataset.open(dir));
    String msg = e.getMessage();
    assertFalse(msg.contains("\n"), "one line: " + msg);
    for (String f : fragments) {
      assertTrue(msg.contains(f), "'" + msg + "' should contain '" + f + "'");
    }
    return msg;
  }

  @Test
  void shardNameWithDotDotIsRefusedEvenWhenTheFileExistsOutside() throws IOException {
    Files.copy(dir.resolve("train-00000.bin"), root.resolve("outside.bin"));
    editManifest(m -> shard(m).put("file", "../outside.bin"));
    refused(
        "splits.train.shards[].file",
        "'../outside.bin' is not a plain file name inside its folder");
  }

  @Test
  void absoluteShardNameIsRefused() throws IOException {
    Path outside = root.resolve("outside.bin");
    Files.copy(dir.resolve("train-00000.bin"), outside);
    editManifest(m -> shard(m).put("file", outside.toAbsolutePath().toString()));
    refused("splits.train.shards[].file", "is not a plain file name");
  }

  @Test
  void tokenizerFileOutsideIsRefused() throws IOException {
    Files.copy(dir.resolve("tokenizer.json"), root.resolve("tokenizer.json"));
    editManifest(m -> ((ObjectNode) m.path("tokenizer")).put("file", "../tokenizer.json"));
    refused("tokenizer.file", "'../tokenizer.json' is not a plain file name");
  }

  @Test
  void shardLinkLeadingOutOfTheFolderIsRefused() throws IOException {
    Path outside = root.resolve("outside.bin");
    Files.move(dir.resolve("train-00000.bin"), outside);
    Files.createSymbolicLink(dir.resolve("train-00000.bin"), outside);
    refused(
        "shard train-00000.bin", "is a link to " + outside.toRealPath() + ", outside its folder");
  }

  @Test
  void linkInsideTheFolderIsAccepted() throws IOException {
    Files.move(dir.resolve("train-00000.bin"), dir.resolve("data.bin"));
    Files.createSymbolicLink(dir.resolve("train-00000.bin"), Path.of("data.bin"));
    try (TokenDataset ds = TokenDataset.open(dir)) {
      assertTrue(ds.numSamples(Manifest.TRAIN) > 0);
    }
  }

  @Test
  void plainFileNameRules() {
    for (String bad :
        new String[] {
          "", ".", "..", "a/b", "../x", "/etc/passwd", "a\\b", "c:x", "a\u0000b", "x\ny"
        }) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class, () -> PlainFileName.check("field", bad), bad);
      assertTrue(e.getMessage().startsWith("field: "), e.getMessage());
      assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
    assertEquals("train-00000.bin", PlainFileName.check("field", "train-00000.bin"));
    assertEquals("..hidden", PlainFileName.check("field", "..hidden"));
  }
}
