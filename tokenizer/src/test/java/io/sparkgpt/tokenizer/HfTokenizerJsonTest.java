package io.sparkgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * tokenizer.json written from the bundled ranks loads in HuggingFace tokenizers (through DJL) with
 * identical ids.
 */
class HfTokenizerJsonTest {

  static int[] djl(HuggingFaceTokenizer hf, String text) {
    return Arrays.stream(hf.encode(text, false, false).getIds())
        .mapToInt(Math::toIntExact)
        .toArray();
  }

  static HuggingFaceTokenizer djl(Path json) throws Exception {
    // DJL truncates to 512 tokens unless told not to.
    return HuggingFaceTokenizer.builder()
        .optTokenizerPath(json)
        .optAddSpecialTokens(false)
        .optTruncation(false)
        .optPadding(false)
        .build();
  }

  /**
   * Our tokenizer, HuggingFace's on our file, and ours reloaded from our file agree on the whole
   * corpus.
   */
  static void assertSameIds(ByteLevelBpe ours, Path json, List<String> texts) throws Exception {
    ByteLevelBpe reloaded = (ByteLevelBpe) Tokenizers.load(json.toString());
    Set<String> all = ours.specialTokens().keySet();
    long tokens = 0;
    try (HuggingFaceTokenizer hf = djl(json)) {
      for (String text : texts) {
        int[] expected = ours.encode(text, all);
        int[] fromHf = djl(hf, text);
        if (!Arrays.equals(expected, fromHf)) {
          assertArrayEquals(
              expected,
              fromHf,
              "HuggingFace differs on "
                  + SplitPatternTest.escape(text.substring(0, Math.min(80, text.length()))));
        }
        assertArrayEquals(expected, reloaded.encode(text, all));
        assertEquals(text, hf.decode(Arrays.stream(fromHf).asLongStream().toArray(), false));
        assertEquals(text, ours.decode(expected));
        tokens += expected.length;
      }
    }
    assertTrue(tokens > 0);
  }

  static List<String> validAdversarial() {
    return Adversarial.strings().stream().filter(s -> !Adversarial.hasLoneSurrogate(s)).toList();
  }

  @Test
  void gpt2TokenizerJsonFromR50kRanks(@TempDir Path dir) throws Exception {
    ByteLevelBpe r50k = (ByteLevelBpe) Tokenizers.r50kBase();
    Path json = dir.resolve("gpt2-tokenizer.json");
    HfTokenizerJson.save(r50k, json);
    assertSameIds(r50k, json, Corpus.allDocuments());
    assertSameIds(r50k, json, validAdversarial());
  }

  @Test
  void cl100kTokenizerJson(@TempDir Path dir) throws Exception {
    ByteLevelBpe cl = (ByteLevelBpe) Tokenizers.cl100kBase();
    Path json = dir.resolve("cl100k-tokenizer.json");
    HfTokenizerJson.save(cl, json);
    assertSameIds(cl, json, Corpus.allDocuments());
    assertSameIds(cl, json, validAdversarial());
  }

  /**
   * A tokenizer we train (GPT-2 pattern, 8k; cl100k pattern, 4k with two specials) loads with
   * identical ids.
   */
  @Test
  void trainedTokenizerJson(@TempDir Path dir) throws Exception {
    PreTokenCounter gpt2 = new PreTokenCounter(SplitPattern.GPT2),
        cl = new PreTokenCounter(SplitPattern.CL100K);
    for (String line : Lines.trainSample(4)) {
      gpt2.add(line);
      cl.add(line);
    }
    ByteLevelBpe a = new BpeTrainer().vocabSize(8000).trainBpe(gpt2.counts());
    Path json = dir.resolve("trained-gpt2.json");
    HfTokenizerJson.save(a, json);
    assertSameIds(a, json, Corpus.allDocuments());
    assertSameIds(a, json, validAdversarial());

    ByteLevelBpe b =
        new BpeTrainer()
            .vocabSize(4000)
            .pattern(SplitPattern.CL100K)
            .specialTokens(List.of("<|endoftext|>", "<|pad|>"))
            .trainBpe(cl.counts());
    assertEquals(3999, b.specialTokens().get("<|pad|>"));
    Path json2 = dir.resolve("trained-cl100k.json");
    HfTokenizerJson.save(b, json2);
    assertSameIds(b, json2, Lines.heldBack());
    assertSameIds(b, json2, validAdversarial());
    assertSameIds(b, json2, List.of("x<|pad|>y<|endoftext|>"));
  }

  /** Merges as [a, b] arrays (tokenizers >= 0.20) read the same as "a b" strings. */
  @Test
  void readsBothMergeFormats(@TempDir Path dir) throws Exception {
    Path json = dir.resolve("t.json");
    Tokenizers.saveJson(Tokenizers.r50kBase(), json);
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode root = (ObjectNode) mapper.readTree(json.toFile());
    ArrayNode merges = (ArrayNode) root.path("model").path("merges");
    ArrayNode pairs = mapper.createArrayNode();
    merges.forEach(
        m -> pairs.addArray().add(m.asText().split(" ")[0]).add(m.asText().split(" ")[1]));
    ((ObjectNode) root.path("model")).set("merges", pairs);
    ((ObjectNode) root.path("model")).put("ignore_merges", false);
    Path arrays = dir.resolve("arrays.json");
    mapper.writeValue(arrays.toFile(), root);
    String text = Corpus.documents().get("prose_en/wikitext-2-raw-v1.test.txt").get(0);
    assertArrayEquals(
        Tokenizers.r50kBase().encode(text), Tokenizers.load(arrays.toString()).encode(text));
  }

  @Test
  void malformedFilesFailWithOneLineMessages() throws Exception {
    assertTrue(error("{\"model\": {").startsWith("t: malformed JSON: Unexpected end-of-input"));
    assertEquals("t: not a tokenizer.json object", error("[1, 2]"));
    String base =
        "{\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true},"
            + " \"model\": {\"type\": \"BPE\", \"vocab\": VOCAB, \"merges\": MERGES}}";
    StringBuilder vocab = new StringBuilder("{");
    for (int b = 0; b < 256; b++) {
      vocab
          .append('"')
          .append(escapeJson(ByteLevel.encode(new byte[] {(byte) b})))
          .append("\": ")
          .append(b)
          .append(", ");
    }
    String full = vocab + "\"ab\": 256}";
    assertArrayEquals(
        new int[] {256},
        load(base.replace("VOCAB", full).replace("MERGES", "[\"a b\"]")).encode("ab"));
    assertEquals(
        "t: merge 0 uses 'zz', which is not in the vocabulary",
        error(base.replace("VOCAB", full).replace("MERGES", "[\"zz b\"]")));
    assertEquals(
        "t: vocabulary lacks the single-byte token 0x0 (byte-level BPE needs all 256; truncated file?)",
        error(base.replace("VOCAB", "{\"a\": 0}").replace("MERGES", "[]")));
    assertEquals(
        "t: token '\u2603' (id 256) is not a byte-level string",
        error(base.replace("VOCAB", vocab + "\"\u2603\": 256}").replace("MERGES", "[]")));
    assertEquals(
        "t: token 'ab' has invalid id -3",
        error(base.replace("VOCAB", vocab + "\"ab\": -3}").replace("MERGES", "[]")));
    assertEquals(
        "t: merge 0 (a c) makes a token that is not in the vocabulary",
        error(base.replace("VOCAB", full).replace("MERGES", "[\"a c\"]")));
    assertEquals(
        "t: ByteLevel add_prefix_space=true is not supported",
        error(
            base.replace("\"add_prefix_space\": false", "\"add_prefix_space\": true")
                .replace("VOCAB", full)
                .replace("MERGES", "[]")));
    assertTrue(
        error(
                base.replace(
                        "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}",
                        "{\"type\": \"Whitespace\"}")
                    .replace("VOCAB", full)
                    .replace("MERGES", "[]"))
            .startsWith("t: unsupported pre_tokenizer"));
    assertEquals(
        "t: normalizer is not supported ('{\"type\":\"NFC\"}')",
        error(
            base.replace(
                    "{\"pre_tokenizer\"", "{\"normalizer\": {\"type\": \"NFC\"}, \"pre_tokenizer\"")
                .replace("VOCAB", full)
                .replace("MERGES", "[]")));
    assertEquals(
        "t: model type WordPiece is not BPE", error("{\"model\": {\"type\": \"WordPiece\"}}"));
  }

  static ByteLevelBpe load(String json) throws Exception {
    return HfTokenizerJson.load(
        new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)), "t");
  }

  static String error(String json) {
    return assertThrows(IllegalArgumentException.class, () -> load(json)).getMessage();
  }

  static String escapeJson(String s) {
    StringBuilder b = new StringBuilder();
    for (char c : s.toCharArray()) {
      b.append(c == '"' || c == '\\' ? "\\" + c : String.valueOf(c));
    }
    return b.toString();
  }
}
