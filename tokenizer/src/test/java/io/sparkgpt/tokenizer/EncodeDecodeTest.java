package io.sparkgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Decoding, partial UTF-8, the bulk API and sharing one instance between threads. */
class EncodeDecodeTest {

  @Test
  void invalidIdsFailWithAClearMessage() {
    ByteLevelBpe cl = (ByteLevelBpe) Tokenizers.cl100kBase();
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> cl.decode(new int[] {1, 100265}));
    assertEquals(
        "invalid token id 100265 for cl100k_base (vocabulary size 100277)", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> cl.decode(new int[] {-1}));
    assertThrows(
        IllegalArgumentException.class, () -> Tokenizers.r50kBase().decodeBytes(new int[] {50257}));
    assertEquals("<|endoftext|>", Tokenizers.r50kBase().decode(new int[] {50256}));
  }

  /** Token by token, the streaming decoder never shows U+FFFD for text that is valid as a whole. */
  @Test
  void streamingDecodeHoldsBackPartialCharacters() {
    for (Tokenizer t : List.of(Tokenizers.r50kBase(), Tokenizers.cl100kBase())) {
      int cut = 0;
      List<String> texts = new ArrayList<>(Corpus.documents().get("zh/fortunes-zh-song100.txt"));
      texts.add("😀👩‍👩‍👧‍👦🇩🇪 中文 e\u0301 " + "\uDB80\uDC00");
      for (String text : texts) {
        int[] ids = t.encode(text);
        TokenDecoder decoder = new TokenDecoder(t);
        StringBuilder b = new StringBuilder();
        for (int id : ids) {
          String piece = decoder.push(id);
          assertFalse(piece.contains("\uFFFD"), "spurious U+FFFD");
          b.append(piece);
          byte[] bytes = t.decodeBytes(new int[] {id});
          cut += new String(bytes, StandardCharsets.UTF_8).contains("\uFFFD") ? 1 : 0;
        }
        b.append(decoder.flush());
        assertEquals(text, b.toString());
      }
      assertTrue(cut > 100, "the test text should contain tokens that cut characters: " + cut);
    }
    // Bytes that can never complete are let through as U+FFFD rather than held forever.
    assertEquals(3, TokenDecoder.completePrefix(new byte[] {'a', (byte) 0xC0, (byte) 0x80}));
    assertEquals(1, TokenDecoder.completePrefix(new byte[] {'a', (byte) 0xE4, (byte) 0xB8}));
    assertEquals(
        0, TokenDecoder.completePrefix(new byte[] {(byte) 0xF0, (byte) 0x9F, (byte) 0x98}));
    assertEquals(
        4,
        TokenDecoder.completePrefix(
            new byte[] {(byte) 0xF0, (byte) 0x9F, (byte) 0x98, (byte) 0x80}));
  }

  @Test
  void bulkEncodeAppendsIntoAReusedBuffer() {
    ByteLevelBpe bpe = (ByteLevelBpe) Tokenizers.r50kBase();
    IntArray out = new IntArray(4);
    List<String> docs = Corpus.documents().get("sft/gsm8k_test.jsonl");
    int[] previousArray = null;
    for (String doc : docs.subList(0, 200)) {
      out.clear();
      int n = bpe.encode(doc, out);
      assertEquals(out.size(), n);
      assertArrayEquals(bpe.encode(doc), out.toArray());
      previousArray = out.array();
    }
    int before = out.size();
    int n = bpe.encode(new StringBuilder("more text"), out);
    assertEquals(before + n, out.size());
    assertArrayEquals(bpe.encode("more text"), Arrays.copyOfRange(out.array(), before, out.size()));
    assertTrue(previousArray.length >= before);
  }

  @Test
  void oneInstanceSharedByManyThreads() throws Exception {
    ByteLevelBpe bpe = (ByteLevelBpe) Tokenizers.cl100kBase();
    List<String> docs = new ArrayList<>(Corpus.documents().get("code/python3.11-stdlib.jsonl"));
    docs.addAll(Corpus.documents().get("sft/belle_eval_set_zh.jsonl"));
    docs.addAll(Adversarial.strings());
    List<int[]> expected = new ArrayList<>();
    for (String d : docs) {
      expected.add(bpe.encode(d));
    }
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Integer>> futures = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int offset = t * 37;
        futures.add(
            pool.submit(
                () -> {
                  IntArray out = new IntArray();
                  int checked = 0;
                  for (int k = 0; k < docs.size(); k++) {
                    int i = (k + offset) % docs.size();
                    out.clear();
                    bpe.encode(docs.get(i), out);
                    if (!Arrays.equals(expected.get(i), out.toArray())) {
                      throw new AssertionError("thread result differs on document " + i);
                    }
                    checked++;
                  }
                  return checked;
                }));
      }
      for (Future<Integer> f : futures) {
        assertEquals(docs.size(), f.get());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void unknownAllowedSpecialIsAnError() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Tokenizers.r50kBase().encode("x", java.util.Set.of("<|im_start|>")));
    assertEquals("'<|im_start|>' is not a special token of r50k_base", e.getMessage());
  }
}
