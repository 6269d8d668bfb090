package io.sparkgpt.jobs.tokenize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.jobs.Cli;
import io.sparkgpt.tokenizer.BpeTrainer;
import io.sparkgpt.tokenizer.PreTokenCounter;
import io.sparkgpt.tokenizer.SplitPattern;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train-tokenizer, encode and decode through the command line. */
class TokenizerCommandsTest {
  @TempDir Path tmp;

  static Path corpus() {
    return io.sparkgpt.tokenizer.Corpus.dir();
  }

  /** Documents as JSONL lines: English and Chinese prose and Python code from the test corpus. */
  static List<String> texts() throws Exception {
    List<String> out = new ArrayList<>();
    for (String line :
        Files.readAllLines(corpus().resolve("prose_en/wikitext-2-raw-v1.test.txt"))) {
      if (line.strip().length() > 300) {
        out.add(line.strip());
      }
    }
    out.addAll(
        Arrays.asList(
            Files.readString(corpus().resolve("zh/debian-reference-zh-cn.txt")).split("\n\n")));
    ObjectMapper m = new ObjectMapper();
    for (String line :
        Files.readAllLines(corpus().resolve("code/python3.11-stdlib.jsonl")).subList(0, 60)) {
      out.add(m.readTree(line).get("text").asText());
    }
    out.removeIf(String::isBlank);
    return out;
  }

  @Test
  void distributedTrainingEqualsLocalTrainingAndDoesNotDependOnPartitioning() throws Exception {
    List<String> texts = texts();
    ObjectMapper m = new ObjectMapper();
    List<String> lines = new ArrayList<>();
    for (String t : texts) {
      lines.add(m.writeValueAsString(Map.of("text", t)));
    }
    Path in = tmp.resolve("docs.jsonl");
    Files.write(in, lines);
    byte[] first = null;
    for (String partitions : List.of("1", "5")) {
      Path out = tmp.resolve("tok-" + partitions + ".json");
      Path report = tmp.resolve("report-" + partitions + ".json");
      Cli.Result r =
          Cli.run(
              "train-tokenizer",
              "--master",
              "local[2]",
              "-i",
              in.toString(),
              "-o",
              out.toString(),
              "--vocab-size",
              "3000",
              "--held-out-fraction",
              "0",
              "--partitions",
              partitions,
              "--report",
              report.toString());
      assertEquals(0, r.code(), r.err());
      assertTrue(r.out().contains("vocabulary 3,000"), r.out());
      byte[] json = Files.readAllBytes(out);
      if (first == null) {
        first = json;
      } else {
        assertArrayEquals(first, json, "tokenizer.json does not depend on partitioning");
      }
      JsonNode rep = m.readTree(report.toFile());
      assertEquals(texts.size(), rep.get("train_documents").asLong());
    }
    // The same counts made in one process give the same merges.
    PreTokenCounter counter = new PreTokenCounter(SplitPattern.GPT2);
    texts.forEach(counter::add);
    Tokenizer local = new BpeTrainer().vocabSize(3000).name("tok-1.json").train(counter.counts());
    Path localJson = tmp.resolve("local.json");
    Tokenizers.saveJson(local, localJson);
    assertArrayEquals(Files.readAllBytes(localJson), first);
  }

  @Test
  void heldBackCompressionIsReportedAndTheTokenizerRoundTrips() throws Exception {
    Path out = tmp.resolve("tok.json");
    Path report = tmp.resolve("report.json");
    Cli.Result r =
        Cli.run(
            "train-tokenizer",
            "--master",
            "local[2]",
            "-i",
            corpus().resolve("prose_en/wikitext-2-raw-v1.test.txt").toString(),
            "--doc-split",
            "line",
            "-o",
            out.toString(),
            "--vocab-size",
            "4096",
            "--held-out-fraction",
            "0.1",
            "--report",
            report.toString());
    assertEquals(0, r.code(), r.err());
    JsonNode rep = new ObjectMapper().readTree(report.toFile());
    assertTrue(rep.get("held_out_documents").asLong() > 50, rep.toString());
    double ours = rep.get("held_out_bytes_per_token").asDouble();
    double gpt2 = rep.get("gpt2_held_out_bytes_per_token").asDouble();
    assertTrue(ours > 3.0 && gpt2 > 3.0, rep.toString()); // real compression, not bytes
    Tokenizer tok = Tokenizers.load(out.toString());
    assertEquals(4096, tok.vocabSize());
    String text = "The quick brown fox — 敏捷的棕色狐狸 def f(x): return x**2\n\t<|endoftext|>";
    assertEquals(text, tok.decode(tok.encode(text)));
  }

  @Test
  void encodeAndDecodeCommandsMatchTheLibrary() {
    String text = "Hello world, 你好!\nSecond line <|endoftext|> here";
    Cli.Result enc = Cli.run(text.getBytes(StandardCharsets.UTF_8), "encode", "-t", "r50k_base");
    assertEquals(0, enc.code(), enc.err());
    String[] lines = enc.out().split("\n");
    assertEquals(2, lines.length);
    int[] ids = Arrays.stream(lines[0].trim().split(" ")).mapToInt(Integer::parseInt).toArray();
    assertArrayEquals(Tokenizers.r50kBase().encode("Hello world, 你好!"), ids);
    assertFalse(lines[1].contains("50256"), "special token text is plain text by default");

    Cli.Result special =
        Cli.run(
            text.getBytes(StandardCharsets.UTF_8),
            "encode",
            "-t",
            "r50k_base",
            "--allow-special",
            "--whole",
            "--format",
            "json");
    assertTrue(special.out().contains("50256"), special.out());

    Cli.Result dec =
        Cli.run(enc.out().getBytes(StandardCharsets.UTF_8), "decode", "-t", "r50k_base");
    assertEquals(0, dec.code(), dec.err());
    assertEquals(text + "\n", dec.out());
  }

  @Test
  void badInputGivesOneLineErrors() {
    Cli.Result badId =
        Cli.run("1 2 99999\n".getBytes(StandardCharsets.UTF_8), "decode", "-t", "r50k_base");
    assertEquals(2, badId.code());
    assertEquals(
        "decode: line 1: token id 99999 is not in the vocabulary (size 50257)",
        badId.err().strip());
    Cli.Result notId =
        Cli.run("1 x\n".getBytes(StandardCharsets.UTF_8), "decode", "-t", "r50k_base");
    assertEquals(2, notId.code());
    Cli.Result badUtf8 =
        Cli.run(new byte[] {'a', (byte) 0xC3, '(', '\n'}, "encode", "-t", "r50k_base");
    assertEquals(2, badUtf8.code());
    assertTrue(badUtf8.err().contains("not valid UTF-8"), badUtf8.err());
    Cli.Result noTok = Cli.run("encode", "-t", tmp.resolve("missing.json").toString());
    assertEquals(2, noTok.code());
    assertEquals(1, noTok.err().strip().split("\n").length, noTok.err());
    Cli.Result vocab =
        Cli.run(
            "train-tokenizer",
            "-i",
            tmp.toString(),
            "-o",
            tmp.resolve("t.json").toString(),
            "--vocab-size",
            "100");
    assertEquals(2, vocab.code());
  }
}
