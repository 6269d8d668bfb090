package io.sparkgpt.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** The test corpus: every file as a list of documents. Cached per JVM. */
public final class Corpus {
  private static Map<String, List<String>> docs;

  private Corpus() {}

  /**
   * {@code testdata/corpus} in the checkout (prefixes of the shared development corpus), or the
   * folder given by {@code -Dsparkgpt.corpus}. Missing, it fails the test: the suite must not
   * silently check less.
   */
  public static Path dir() {
    Path p =
        Path.of(System.getProperty("sparkgpt.corpus", "../testdata/corpus"))
            .toAbsolutePath()
            .normalize();
    if (!Files.isDirectory(p.resolve("prose_en"))) {
      throw new IllegalStateException(
          "test corpus not found at "
              + p
              + " (it is testdata/corpus in the checkout; -Dsparkgpt.corpus=DIR names another)");
    }
    return p;
  }

  /**
   * File name to documents: a {@code .txt} file is one document; a {@code .jsonl} file gives every
   * string field of every line as a document.
   */
  static synchronized Map<String, List<String>> documents() {
    if (docs != null) {
      return docs;
    }
    Map<String, List<String>> all = new LinkedHashMap<>();
    ObjectMapper mapper = new ObjectMapper();
    try (Stream<Path> files = Files.walk(dir())) {
      for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
        String name = dir().relativize(f).toString();
        if (name.endsWith(".txt")) {
          all.put(name, List.of(Files.readString(f, StandardCharsets.UTF_8)));
        } else if (name.endsWith(".jsonl")) {
          List<String> list = new ArrayList<>();
          for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
              continue;
            }
            JsonNode node = mapper.readTree(line);
            for (Iterator<JsonNode> it = node.elements(); it.hasNext(); ) {
              JsonNode v = it.next();
              if (v.isTextual()) {
                list.add(v.asText());
              }
            }
          }
          all.put(name, list);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    docs = all;
    return docs;
  }

  static List<String> allDocuments() {
    List<String> list = new ArrayList<>();
    documents().values().forEach(list::addAll);
    return list;
  }

  static long utf8Bytes(List<String> texts) {
    long n = 0;
    for (String s : texts) {
      n += s.getBytes(StandardCharsets.UTF_8).length;
    }
    return n;
  }
}
