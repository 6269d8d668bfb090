package io.sparkgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Our JNI-backed SentencePiece tokenizer against Debian's spm_encode, on models spm_train makes
 * here.
 */
class SentencePieceTokenizerTest {

  @ParameterizedTest
  @ValueSource(strings = {"bpe", "unigram"})
  void sameIdsAsSpmEncode(String type, @TempDir Path dir) throws Exception {
    Path input = dir.resolve("train.txt");
    Files.write(input, Lines.trainSample(10));
    Path model =
        SpmCli.train(
            input,
            dir.resolve("m"),
            List.of(
                "--model_type=" + type,
                "--vocab_size=3000",
                "--character_coverage=0.9995",
                "--byte_fallback=true",
                "--num_threads=1"));
    List<String> lines = Lines.heldBack().subList(0, Math.min(8000, Lines.heldBack().size()));
    Path held = dir.resolve("held.txt");
    Files.write(held, lines);
    List<int[]> expected = SpmCli.encode(model, held);
    assertEquals(lines.size(), expected.size());
    try (Tokenizer sp = Tokenizers.load(model.toString())) {
      assertEquals(3000, sp.vocabSize());
      assertEquals(2, sp.endOfTextId()); // </s>
      long tokens = 0;
      for (int i = 0; i < lines.size(); i++) {
        int[] ids = sp.encode(lines.get(i));
        assertArrayEquals(expected.get(i), ids, lines.get(i));
        tokens += ids.length;
      }
      assertTrue(tokens > 50_000);
      // Round trip: the default normalizer (NFKC, collapsed spaces) may change text, so compare to
      // spm's own decode.
      String line = "def f(x):  return x + 1  # 中文 😀";
      assertEquals(
          sp.decode(sp.encode(line)),
          new String(sp.decodeBytes(sp.encode(line)), java.nio.charset.StandardCharsets.UTF_8));
      int[] withEos = sp.encode("a</s>b", java.util.Set.of("</s>"));
      assertEquals(1, Arrays.stream(withEos).filter(id -> id == 2).count());
      assertTrue(Arrays.stream(sp.encode("a</s>b")).noneMatch(id -> id == 2));
      assertEquals(
          "invalid token id 3000 for " + model + " (vocabulary size 3000)",
          assertThrows(IllegalArgumentException.class, () -> sp.decode(new int[] {5, 3000}))
              .getMessage());
    }
  }

  @Test
  void corruptModelsFailBeforeNativeCode(@TempDir Path dir) throws Exception {
    Path input = dir.resolve("train.txt");
    Files.write(input, Lines.trainSample(200));
    byte[] model =
        Files.readAllBytes(SpmCli.train(input, dir.resolve("m"), List.of("--vocab_size=1000")));
    byte[] cut = Arrays.copyOf(model, model.length / 2 + 3);
    assertTrue(
        assertThrows(
                IllegalArgumentException.class, () -> SentencePieceTokenizer.load(cut, "cut.model"))
            .getMessage()
            .startsWith("cut.model: not a valid SentencePiece model ("));
    assertTrue(
        assertThrows(
                IllegalArgumentException.class,
                () -> SentencePieceTokenizer.load("{\"model\": 1}".getBytes(), "json.model"))
            .getMessage()
            .startsWith("json.model: not a valid SentencePiece model"));
    assertEquals(
        "empty.model: not a SentencePiece model (no pieces)",
        assertThrows(
                IllegalArgumentException.class,
                () -> SentencePieceTokenizer.load(new byte[0], "empty.model"))
            .getMessage());
  }
}
