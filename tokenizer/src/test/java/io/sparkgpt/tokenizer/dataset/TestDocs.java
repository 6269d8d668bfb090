package io.sparkgpt.tokenizer.dataset;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Real documents from the test corpus, their encodings (cached per JVM), and raw shard reading. */
final class TestDocs {
  record Doc(String id, String text) {}

  private static final Map<String, int[]> ENCODED = new ConcurrentHashMap<>();

  private TestDocs() {}

  static Path corpus() {
    return io.sparkgpt.tokenizer.Corpus.dir();
  }

  /** The file's blank-line-separated paragraphs (at most {@code max}), ids {@code file#k}. */
  static List<Doc> paragraphs(String file, int max) {
    try {
      String text = Files.readString(corpus().resolve(file), StandardCharsets.UTF_8);
      List<Doc> docs = new ArrayList<>();
      for (String para : text.split("\n\\s*\n")) {
        if (docs.size() == max) {
          break;
        }
        docs.add(new Doc(file + "#" + docs.size(), para));
      }
      return docs;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Every string field of every line of a .jsonl file (at most {@code max}), ids {@code file#k}.
   */
  static List<Doc> jsonl(String file, int max) {
    ObjectMapper mapper = new ObjectMapper();
    List<Doc> docs = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(corpus().resolve(file), StandardCharsets.UTF_8)) {
        if (line.isBlank()) {
          continue;
        }
        for (Iterator<JsonNode> it = mapper.readTree(line).elements();
            it.hasNext() && docs.size() < max; ) {
          JsonNode v = it.next();
          if (v.isTextual()) {
            docs.add(new Doc(file + "#" + docs.size(), v.asText()));
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return docs;
  }

  /** English prose, instructions, a little Chinese, some empty documents and special-token text. */
  static List<Doc> mixed() {
    List<Doc> docs = new ArrayList<>(paragraphs("prose_en/tinyshakespeare.txt", 4000));
    docs.addAll(jsonl("sft/alpaca_seed_tasks.jsonl", 400));
    docs.addAll(paragraphs("zh/fortunes-zh-tang300.txt", 150));
    docs.add(new Doc("empty-1", ""));
    docs.add(new Doc("empty-2", ""));
    docs.add(new Doc("special", "text that mentions <|endoftext|> as plain text\n"));
    return docs;
  }

  /** Chinese text and code for the 100k vocabulary. */
  static List<Doc> chinese() {
    List<Doc> docs = new ArrayList<>(paragraphs("zh/debian-reference-zh-cn.txt", 600));
    docs.addAll(paragraphs("zh/fortunes-zh-song100.txt", 100));
    docs.addAll(jsonl("sft/belle_zh_seed_tasks.jsonl", 200));
    return docs;
  }

  static int[] encode(Tokenizer t, Doc d) {
    return ENCODED.computeIfAbsent(t.name() + "\0" + d.id(), k -> t.encode(d.text()));
  }

  /** A shard file's tokens, read independently of the reader. */
  static int[] rawTokens(Path file, Dtype dtype) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    int[] out = new int[b.remaining() / dtype.bytes()];
    for (int i = 0; i < out.length; i++) {
      out[i] = dtype.bytes() == 2 ? b.getShort() & 0xFFFF : b.getInt();
    }
    return out;
  }

  /**
   * Splits a token stream after every end-of-text id; a trailing piece without one is returned
   * last.
   */
  static List<int[]> splitAtEot(int[] tokens, int eot) {
    List<int[]> docs = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < tokens.length; i++) {
      if (tokens[i] == eot) {
        docs.add(java.util.Arrays.copyOfRange(tokens, start, i));
        start = i + 1;
      }
    }
    if (start < tokens.length) {
      docs.add(java.util.Arrays.copyOfRange(tokens, start, tokens.length));
    }
    return docs;
  }
}
