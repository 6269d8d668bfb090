package io.sparkgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Token ids identical to jtokkit (a faithful port of tiktoken) for r50k_base and cl100k_base. */
class TiktokenOracleTest {
  static final EncodingRegistry REGISTRY = Encodings.newDefaultEncodingRegistry();

  static Encoding jtokkit(String name) {
    return REGISTRY.getEncoding(
        name.equals("r50k_base") ? EncodingType.R50K_BASE : EncodingType.CL100K_BASE);
  }

  static ByteLevelBpe ours(String name) {
    return (ByteLevelBpe) Tokenizers.load(name);
  }

  @ParameterizedTest
  @ValueSource(strings = {"r50k_base", "cl100k_base"})
  void identicalIdsOnWholeCorpus(String name) {
    Encoding oracle = jtokkit(name);
    ByteLevelBpe bpe = ours(name);
    long tokens = 0;
    for (Map.Entry<String, List<String>> e : Corpus.documents().entrySet()) {
      for (String doc : e.getValue()) {
        int[] expected = oracle.encodeOrdinary(doc).toArray();
        int[] actual = bpe.encode(doc);
        if (!java.util.Arrays.equals(expected, actual)) {
          assertArrayEquals(expected, actual, name + " differs from jtokkit on " + e.getKey());
        }
        assertEquals(doc, bpe.decode(actual));
        tokens += actual.length;
      }
    }
    assertTrue(tokens > 700_000, "only " + tokens + " tokens");
  }

  /**
   * Lone surrogates are documented to encode as U+FFFD (tiktoken's behaviour); jtokkit has no rule
   * for them.
   */
  @ParameterizedTest
  @ValueSource(strings = {"r50k_base", "cl100k_base"})
  void identicalIdsOnAdversarialStrings(String name) {
    Encoding oracle = jtokkit(name);
    ByteLevelBpe bpe = ours(name);
    for (String s : Adversarial.strings()) {
      String valid = Adversarial.replaceLoneSurrogates(s);
      int[] actual = bpe.encode(s);
      assertArrayEquals(
          oracle.encodeOrdinary(valid).toArray(),
          actual,
          () -> name + " on " + SplitPatternTest.escape(s));
      assertEquals(valid, bpe.decode(actual), "decode(encode(s)) == s");
    }
  }

  /** The O(n log n) heap merge and the O(n^2) scan give the same tokens everywhere. */
  @Test
  void heapMergeEqualsScanMerge() {
    for (String name : List.of("r50k_base", "cl100k_base")) {
      ByteLevelBpe bpe = ours(name);
      ByteLevelBpe allHeap = bpe.withSmallPieceLimit(1);
      ByteLevelBpe allScan = bpe.withSmallPieceLimit(Integer.MAX_VALUE);
      for (String s : Adversarial.strings()) {
        assertArrayEquals(
            allScan.encode(s), allHeap.encode(s), () -> name + " on " + SplitPatternTest.escape(s));
      }
      for (String doc : Corpus.documents().get("zh/debian-reference-zh-cn.txt")) {
        assertArrayEquals(allScan.encode(doc), allHeap.encode(doc));
      }
      for (String doc : Corpus.documents().get("prose_en/wikitext-2-raw-v1.test.txt")) {
        assertArrayEquals(allScan.encode(doc), allHeap.encode(doc));
      }
    }
  }

  @Test
  void specialTokensOnlyWhenAllowed() {
    ByteLevelBpe r50k = (ByteLevelBpe) Tokenizers.r50kBase();
    Encoding oracle = jtokkit("r50k_base");
    String text = "a<|endoftext|>b <|endoftext|>";
    int[] plain = r50k.encode(text);
    assertArrayEquals(oracle.encodeOrdinary(text).toArray(), plain);
    for (int id : plain) {
      assertTrue(id != 50256, "plain text produced <|endoftext|>");
    }
    IntArray expected = new IntArray();
    expected.addAll(oracle.encodeOrdinary("a").toArray());
    expected.add(50256);
    expected.addAll(oracle.encodeOrdinary("b ").toArray());
    expected.add(50256);
    assertArrayEquals(expected.toArray(), r50k.encode(text, java.util.Set.of("<|endoftext|>")));
    assertEquals(text, r50k.decode(r50k.encode(text, java.util.Set.of("<|endoftext|>"))));

    ByteLevelBpe cl = (ByteLevelBpe) Tokenizers.cl100kBase();
    int[] ids = cl.encode("<|fim_prefix|>x<|endoftext|>", java.util.Set.of("<|fim_prefix|>"));
    assertEquals(100258, ids[0]);
    assertArrayEquals(
        jtokkit("cl100k_base").encodeOrdinary("x<|endoftext|>").toArray(),
        java.util.Arrays.copyOfRange(ids, 1, ids.length));
    assertEquals(50256, r50k.endOfTextId());
    assertEquals(100257, cl.endOfTextId());
    assertEquals(50257, r50k.vocabSize());
    assertEquals(100277, cl.vocabSize());
  }
}
