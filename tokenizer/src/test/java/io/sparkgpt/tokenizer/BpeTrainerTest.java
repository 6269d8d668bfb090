package io.sparkgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BpeTrainerTest {

  static List<String> mergeStrings(ByteLevelBpe bpe) {
    List<String> out = new ArrayList<>();
    for (int[] m : bpe.mergeList()) {
      out.add(
          new String(bpe.tokenBytes(m[0]), StandardCharsets.UTF_8)
              + "+"
              + new String(bpe.tokenBytes(m[1]), StandardCharsets.UTF_8));
    }
    return out;
  }

  /**
   * Worked by hand: initial pair counts ug 20, pu 17, un 16, hu 15, gs 5, bu 4. After ug, un, h+ug
   * (15) and p+un (12), p+ug and hug+s tie at 5; p (112) < hug (258), so p+ug comes first; b+un (4)
   * is last.
   */
  @Test
  void handCheckedMerges() {
    Map<String, Long> counts = Map.of("hug", 10L, "pug", 5L, "pun", 12L, "bun", 4L, "hugs", 5L);
    ByteLevelBpe bpe = new BpeTrainer().vocabSize(1000).minFrequency(1).trainBpe(counts);
    assertEquals(List.of("u+g", "u+n", "h+ug", "p+un", "p+ug", "hug+s", "b+un"), mergeStrings(bpe));
    assertEquals(256 + 7 + 1, bpe.vocabSize());
    assertEquals(263, bpe.endOfTextId());
    assertArrayEquals(new int[] {261, 262, 259, 260}, bpe.encode("hugsbunpunpug"));

    ByteLevelBpe frequent =
        new BpeTrainer().vocabSize(1000).minFrequency(5).specialTokens(List.of()).trainBpe(counts);
    assertEquals(List.of("u+g", "u+n", "h+ug", "p+un", "p+ug", "hug+s"), mergeStrings(frequent));
    assertEquals(-1, frequent.endOfTextId());

    ByteLevelBpe small = new BpeTrainer().vocabSize(256 + 3 + 1).minFrequency(1).trainBpe(counts);
    assertEquals(List.of("u+g", "u+n", "h+ug"), mergeStrings(small));
    assertEquals(260, small.vocabSize());
  }

  /**
   * Overlapping runs: "aaaaa" x3 -> a+a first (4 overlapping pairs x 3 = 12), leaving aa,aa,a. Then
   * aa+aa and aa+a tie at 3 and (256, 97) < (256, 256) picks aa+a, leaving aa,aaa; then aa+aaa.
   */
  @Test
  void overlappingPairsAreCountedExactly() {
    ByteLevelBpe bpe =
        new BpeTrainer()
            .vocabSize(1000)
            .minFrequency(1)
            .specialTokens(List.of())
            .trainBpe(Map.of("aaaaa", 3L));
    assertEquals(List.of("a+a", "aa+a", "aa+aaa"), mergeStrings(bpe));
  }

  /** The incremental trainer against a trainer that recounts every pair before every merge. */
  @Test
  void sameMergesAsFullRecount() {
    StringBuilder text = new StringBuilder();
    text.append(Corpus.documents().get("prose_en/tinyshakespeare.txt").get(0), 0, 150_000);
    Corpus.documents().get("code/python3.11-stdlib.jsonl").stream()
        .skip(20)
        .limit(8)
        .forEach(text::append);
    text.append(Corpus.documents().get("zh/fortunes-zh-tang300.txt").get(0), 0, 20_000);
    Map<String, Long> counts = PreTokenCounter.count(text, SplitPattern.GPT2);
    int merges = 600;
    ByteLevelBpe bpe =
        new BpeTrainer().vocabSize(256 + merges).specialTokens(List.of()).trainBpe(counts);
    assertEquals(naiveMerges(counts, merges, 2), mergeStrings(bpe));
  }

  /**
   * Reference: recount everything per merge; same tie rule (count desc, then left id, then right
   * id).
   */
  static List<String> naiveMerges(Map<String, Long> counts, int merges, long minFrequency) {
    List<byte[]> tokens = new ArrayList<>();
    for (int b = 0; b < 256; b++) {
      tokens.add(new byte[] {(byte) b});
    }
    List<int[]> words = new ArrayList<>();
    List<Long> freq = new ArrayList<>();
    counts.forEach(
        (k, v) -> {
          byte[] b = k.getBytes(StandardCharsets.UTF_8);
          int[] w = new int[b.length];
          for (int i = 0; i < b.length; i++) {
            w[i] = b[i] & 0xFF;
          }
          words.add(w);
          freq.add(v);
        });
    List<String> out = new ArrayList<>();
    while (out.size() < merges) {
      Map<Long, Long> pairs = new HashMap<>();
      for (int w = 0; w < words.size(); w++) {
        int[] s = words.get(w);
        for (int i = 0; i + 1 < s.length; i++) {
          pairs.merge((long) s[i] << 32 | s[i + 1], freq.get(w), Long::sum);
        }
      }
      long bestKey = -1, bestCount = 0;
      for (Map.Entry<Long, Long> e : pairs.entrySet()) {
        if (e.getValue() > bestCount || (e.getValue() == bestCount && e.getKey() < bestKey)) {
          bestKey = e.getKey();
          bestCount = e.getValue();
        }
      }
      if (bestCount < minFrequency) {
        break;
      }
      int a = (int) (bestKey >>> 32), b = (int) bestKey;
      byte[] ab = new byte[tokens.get(a).length + tokens.get(b).length];
      System.arraycopy(tokens.get(a), 0, ab, 0, tokens.get(a).length);
      System.arraycopy(tokens.get(b), 0, ab, tokens.get(a).length, tokens.get(b).length);
      int z = -1;
      for (int t = 0; t < tokens.size(); t++) {
        if (Arrays.equals(tokens.get(t), ab)) {
          z = t;
        }
      }
      if (z < 0) {
        tokens.add(ab);
        z = tokens.size() - 1;
      }
      out.add(
          new String(tokens.get(a), StandardCharsets.UTF_8)
              + "+"
              + new String(tokens.get(b), StandardCharsets.UTF_8));
      for (int w = 0; w < words.size(); w++) {
        int[] s = words.get(w);
        int[] t = new int[s.length];
        int n = 0;
        for (int i = 0; i < s.length; ) {
          if (i + 1 < s.length && s[i] == a && s[i + 1] == b) {
            t[n++] = z;
            i += 2;
          } else {
            t[n++] = s[i++];
          }
        }
        words.set(w, Arrays.copyOf(t, n));
      }
    }
    return out;
  }

  @Test
  void deterministicWhateverTheMapOrder(@TempDir Path dir) throws Exception {
    Map<String, Long> counts =
        PreTokenCounter.count(
            Corpus.documents().get("prose_en/wikitext-2-raw-v1.test.txt").get(0),
            SplitPattern.CL100K);
    List<String> keys = new ArrayList<>(counts.keySet());
    byte[] first = null;
    for (int seed = 0; seed < 3; seed++) {
      Collections.shuffle(keys, new Random(seed));
      Map<String, Long> shuffled = new LinkedHashMap<>();
      keys.forEach(k -> shuffled.put(k, counts.get(k)));
      ByteLevelBpe bpe =
          new BpeTrainer().vocabSize(3000).pattern(SplitPattern.CL100K).trainBpe(shuffled);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      HfTokenizerJson.save(bpe, out);
      if (first == null) {
        first = out.toByteArray();
      } else {
        assertArrayEquals(first, out.toByteArray());
      }
    }
  }

  @Test
  void capKeepsTheMostFrequentPreTokens() {
    Map<String, Long> counts =
        PreTokenCounter.count(
            Corpus.documents().get("prose_en/tinyshakespeare.txt").get(0), SplitPattern.GPT2);
    int cap = 2000;
    int[] pruned = new int[2];
    ByteLevelBpe capped =
        new BpeTrainer()
            .vocabSize(1500)
            .maxPreTokens(cap)
            .progress(
                new BpeTrainer.Progress() {
                  @Override
                  public void merges(int done, int target, double mergesPerSecond) {}

                  @Override
                  public void pruned(int kept, int dropped) {
                    pruned[0] = kept;
                    pruned[1] = dropped;
                  }
                })
            .trainBpe(counts);
    assertEquals(cap, pruned[0]);
    assertEquals(counts.size() - cap, pruned[1]);
    List<Map.Entry<String, Long>> sorted = new ArrayList<>(counts.entrySet());
    sorted.sort(
        (x, y) ->
            x.getValue().equals(y.getValue())
                ? Arrays.compareUnsigned(
                    x.getKey().getBytes(StandardCharsets.UTF_8),
                    y.getKey().getBytes(StandardCharsets.UTF_8))
                : Long.compare(y.getValue(), x.getValue()));
    Map<String, Long> top = new HashMap<>();
    sorted.subList(0, cap).forEach(e -> top.put(e.getKey(), e.getValue()));
    assertEquals(
        mergeStrings(new BpeTrainer().vocabSize(1500).trainBpe(top)), mergeStrings(capped));
  }

  @Test
  void progressIsReported() {
    Map<String, Long> counts =
        PreTokenCounter.count(
            Corpus.documents().get("prose_en/tinyshakespeare.txt").get(0), SplitPattern.GPT2);
    List<Integer> reports = new ArrayList<>();
    new BpeTrainer()
        .vocabSize(256 + 2500 + 1)
        .progress(
            (done, target, rate) -> {
              assertEquals(2500, target);
              assertTrue(rate > 0);
              reports.add(done);
            })
        .train(counts);
    assertEquals(List.of(1000, 2000, 2500), reports);
  }

  @Test
  void badParametersFail() {
    assertEquals(
        "vocabulary size 200 is below 256 bytes + 1 special tokens",
        assertThrows(
                IllegalArgumentException.class,
                () -> new BpeTrainer().vocabSize(200).train(Map.of("a", 1L)))
            .getMessage());
    assertThrows(IllegalArgumentException.class, () -> new BpeTrainer().train(Map.of("a", 0L)));
  }

  @Test
  void preTokenCounterMatchesRegexCountsAndRespectsItsCap() {
    String text = Corpus.documents().get("zh/debian-reference-zh-cn.txt").get(0);
    Map<String, Long> expected = new HashMap<>();
    Matcher m =
        Pattern.compile(SplitPattern.CL100K.regex(), Pattern.UNICODE_CHARACTER_CLASS).matcher(text);
    while (m.find()) {
      expected.merge(m.group(), 1L, Long::sum);
    }
    assertEquals(expected, PreTokenCounter.count(text, SplitPattern.CL100K));

    PreTokenCounter capped = new PreTokenCounter(SplitPattern.CL100K, 1000);
    capped.add(text);
    assertTrue(capped.distinct() <= 1000);
    assertTrue(capped.dropped() > 0);
    // Pre-tokens far above the threshold keep exact counts.
    long top = expected.values().stream().mapToLong(Long::longValue).max().orElseThrow();
    String topKey =
        expected.entrySet().stream()
            .filter(e -> e.getValue() == top)
            .findFirst()
            .orElseThrow()
            .getKey();
    assertEquals(top, capped.counts().get(topKey));
  }
}
