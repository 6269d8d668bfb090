package io.sparkgpt.model;

import io.sparkgpt.tokenizer.Corpus;
import io.sparkgpt.tokenizer.SplitPattern;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import io.sparkgpt.tokenizer.dataset.DatasetFiles;
import io.sparkgpt.tokenizer.dataset.DatasetWriter;
import io.sparkgpt.tokenizer.dataset.Format;
import io.sparkgpt.tokenizer.dataset.Layout;
import io.sparkgpt.tokenizer.dataset.Manifest;
import io.sparkgpt.tokenizer.dataset.ShardWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Shared helpers: a byte-level tokenizer, datasets written with the tokenizer module's writer,
 * small configs.
 */
final class TestData {
  private TestData() {}

  /** 256 single-byte tokens and {@code <|endoftext|>} = 256 (vocabulary 257). */
  static Tokenizer byteTokenizer() {
    byte[][] tokens = new byte[256][];
    for (int i = 0; i < 256; i++) {
      tokens[i] = new byte[] {(byte) i};
    }
    return Tokenizers.fromRanks("bytes", SplitPattern.GPT2, tokens, Map.of("<|endoftext|>", 256));
  }

  /**
   * Writes a native dataset of {@code text} cut into documents of about {@code docChars}
   * characters, every tenth document in {@code val}, with the byte-level tokenizer, and returns its
   * folder.
   */
  static Path byteDataset(Path dir, String text, int seqLen, int docChars) throws IOException {
    Tokenizer tok = byteTokenizer();
    DatasetFiles files = DatasetFiles.local(dir);
    Manifest.TokenizerInfo info = DatasetWriter.writeTokenizer(files, tok, "bytes");
    Layout layout = Layout.of(Format.NATIVE, tok, seqLen, info.sha256(), "model-test");
    DatasetWriter.begin(files, layout);
    List<String> docs = new ArrayList<>();
    for (int i = 0; i < text.length(); i += docChars) {
      docs.add(text.substring(i, Math.min(text.length(), i + docChars)));
    }
    try (ShardWriter train = ShardWriter.create(files, Manifest.TRAIN, 0, layout);
        ShardWriter val = ShardWriter.create(files, Manifest.VALIDATION, 0, layout)) {
      for (int i = 0; i < docs.size(); i++) {
        (i % 10 == 9 ? val : train).addText(tok, docs.get(i));
      }
      train.commit();
      val.commit();
    }
    DatasetWriter.finish(
        files, layout, info, Map.of(Manifest.TRAIN, 1, Manifest.VALIDATION, 1), 0.0, Map.of());
    return dir;
  }

  /** The first {@code maxChars} characters of tinyshakespeare. */
  static String shakespeare(int maxChars) throws IOException {
    String s =
        Files.readString(
            Corpus.dir().resolve("prose_en/tinyshakespeare.txt"), StandardCharsets.UTF_8);
    return s.substring(0, Math.min(maxChars, s.length()));
  }

  /** Unigram entropy (nats) of the bytes of {@code text}. */
  static double unigramEntropy(String text) {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    long[] c = new long[256];
    for (byte x : b) {
      c[x & 0xFF]++;
    }
    double h = 0;
    for (long n : c) {
      if (n > 0) {
        double p = n / (double) b.length;
        h -= p * Math.log(p);
      }
    }
    return h;
  }

  /** A very small model for fast tests. */
  static GptConfig micro(int vocab, int block, String dtype) {
    return new GptConfig(vocab, block, 16, 2, 2, 4, 0.0, true, true, dtype);
  }

  /** Random tokens [b][t+1] from a seeded generator. */
  static int[][] randomTokens(int b, int t, int vocab, long seed) {
    Random r = new Random(seed);
    int[][] out = new int[b][t + 1];
    for (int[] row : out) {
      for (int i = 0; i < row.length; i++) {
        row[i] = r.nextInt(vocab);
      }
    }
    return out;
  }
}
