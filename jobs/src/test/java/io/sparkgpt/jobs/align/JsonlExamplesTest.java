package io.sparkgpt.jobs.align;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How sft, train-reward and ppo read their JSONL: every line is accepted or rejected with its
 * number.
 */
class JsonlExamplesTest {
  @TempDir Path tmp;

  // Issue 11, case 4: one invalid-UTF-8 line stopped the job with "cannot read FILE: Input length =
  // 1".
  @Test
  void invalidUtf8LineIsRejectedWithItsNumberAndTheRestIsRead() throws Exception {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.write("{\"prompt\": \"first\"}\n".getBytes(StandardCharsets.UTF_8));
    b.write(
        "{\"prompt\": \"bad \u00e9"
            .getBytes(StandardCharsets.ISO_8859_1)); // Latin-1 é: invalid UTF-8
    b.write("\"}\n".getBytes(StandardCharsets.UTF_8));
    b.write("{\"prompt\": \"third, CRLF\"}\r\n".getBytes(StandardCharsets.UTF_8));
    b.write(new byte[] {'{', '"', 'p', (byte) 0xF0, (byte) 0x9F, '\n'}); // a cut 4-byte sequence
    b.write(
        "{\"prompt\": \"fifth \u4e2d\u6587\"}"
            .getBytes(StandardCharsets.UTF_8)); // no final newline
    Path f = tmp.resolve("prompts.jsonl");
    Files.write(f, b.toByteArray());

    JsonlExamples<String> ex =
        JsonlExamples.read("--data", f, (o, note) -> JsonlExamples.text(o, "prompt"));
    List<Integer> lines = new ArrayList<>();
    List<String> prompts = new ArrayList<>();
    ex.accepted()
        .forEach(
            n -> {
              lines.add(n.line());
              prompts.add(n.example());
            });
    assertEquals(List.of(1, 3, 5), lines);
    assertEquals(List.of("first", "third, CRLF", "fifth \u4e2d\u6587"), prompts);
    assertEquals(2, ex.rejectedCount());

    Path dir = tmp.resolve("data");
    ex.writeReport(dir, 3, 0);
    JsonNode report = new ObjectMapper().readTree(dir.resolve(JsonlExamples.REPORT).toFile());
    assertEquals(5, report.get("lines").asInt());
    assertEquals(
        "[2,4]", report.path("rejected_by_reason").path("invalid UTF-8").path("lines").toString());
    List<String> summary = new ArrayList<>();
    ex.summary("prompts", 3, 0, dir, summary::add);
    assertTrue(
        summary.get(0).contains("2 rejected; invalid UTF-8: 2 (lines 2, 4)"), summary.get(0));
  }
}
