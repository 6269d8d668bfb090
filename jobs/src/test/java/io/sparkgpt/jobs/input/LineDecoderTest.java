package io.sparkgpt.jobs.input;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * JSONL lines parsed from their bytes: documents, metadata and every quarantine reason, line by
 * line.
 */
class LineDecoderTest {
  private static final DocReader.Options OPTIONS =
      new DocReader.Options(DocReader.DocSplit.LINE, "text", DocReader.Content.AUTO, 1 << 20);
  private final DocReader.LineDecoder jsonl =
      new DocReader.LineDecoder("file:/in/a.jsonl", DocReader.fileKey("in/a.jsonl"), true, OPTIONS);

  private Doc decode(String line) {
    return decode(line.getBytes(StandardCharsets.UTF_8));
  }

  private Doc decode(byte[] line) {
    byte[] padded =
        java.util.Arrays.copyOf(
            line, line.length + 7); // Hadoop's Text buffer is longer than the line
    return jsonl.decode(40, padded, line.length);
  }

  @Test
  void textFieldIsDecodedAndOtherFieldsBecomeMetadata() {
    Doc d =
        decode(
            "{\"id\": 7, \"text\": \"caf\u00e9 \\u4e2d\\u6587\\n\\\"q\\\" \ud83d\ude00\", \"source\": \"web\","
                + " \"tags\": [\"a\", {\"b\": null}]}");
    assertTrue(d.kept());
    assertEquals("caf\u00e9 \u4e2d\u6587\n\"q\" \ud83d\ude00", d.text());
    assertEquals(Map.of("id", "7", "source", "web", "tags", "[\"a\",{\"b\":null}]"), d.metadata());
    assertEquals(DocReader.fileKey("in/a.jsonl") + "-000000000040", d.id());
  }

  @Test
  void blankLinesAreNoRecordsButOtherSpacesAre() {
    assertNull(decode(" \t \r"));
    assertNull(decode("\u3000 \u2003")); // Unicode spaces: blank as String.isBlank sees it
    Doc nbsp = decode("\u00a0"); // no-break space is not whitespace to Java: a record, and not JSON
    assertEquals("malformed_json", nbsp.rule());
    assertEquals("\u00a0", nbsp.text);
  }

  @Test
  void everyBrokenLineIsQuarantinedWithItsReasonAndText() {
    String[][] cases = {
      {"{\"text\": \"unterminated", "malformed_json"},
      {"{\"text\": \"a\"} trailing", "malformed_json"},
      {"{\"text\": \"a\",}", "malformed_json"},
      {"[1, 2]", "not_a_json_object"},
      {"{\"title\": \"x\"}", "missing_text_field"},
      {"{\"text\": null}", "missing_text_field"},
      {"{\"text\": [\"a\"]}", "text_not_a_string"},
      {"{\"text\": \"lone \\ud800\"}", "unpaired_surrogate"},
      // a BOM and a NUL-led line are text to be parsed, not an encoding to detect
      {"\ufeff{\"text\": \"a\"}", "malformed_json"},
      {"\u0000{\"text\": \"a\"}", "malformed_json"},
    };
    for (String[] c : cases) {
      Doc d = decode(c[0]);
      assertEquals(c[1], d.rule(), c[0]);
      assertEquals(Doc.Status.QUARANTINED, d.status(), c[0]);
      assertEquals(c[0], d.text(), "the line is kept as it was: " + c[0]);
      assertTrue(
          d.detail().endsWith("(line at offset 40)") || d.detail().equals("line at offset 40"),
          d.detail());
    }
  }

  @Test
  void surrogatesMustComeInPairs() {
    assertEquals(
        "a\ud83d\ude00b", decode("{\"text\": \"a\\ud83d\\ude00b\"}").text, "an escaped pair");
    assertEquals(
        "\\uD800 at char 5 (line at offset 40)", decode("{\"text\": \"lone \\ud800\"}").detail());
    assertEquals(
        "\\uDE00 at char 1 (line at offset 40)",
        decode("{\"text\": \"a\\ude00\\ud83d\"}").detail());
    assertEquals(
        "\\uD83D at char 2 (line at offset 40)",
        decode("{\"text\": \"ab\\ud83d\"}").detail(),
        "cut at the end");
  }

  @Test
  void invalidUtf8KeepsTheRawBytesAndTheOffset() {
    byte[] line = {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xC3, '(', '"', '}'};
    Doc d = decode(line);
    assertEquals("invalid_utf8", d.rule());
    assertEquals("invalid UTF-8 at byte 9 of line at offset 40", d.detail());
    assertArrayEquals(line, d.raw());
  }

  @Test
  void idsPadPositionsToTwelveDigits() {
    assertEquals("k-000000000000", DocReader.id("k", 0));
    assertEquals("k-000000012345", DocReader.id("k", 12345));
    assertEquals("k-123456789012", DocReader.id("k", 123456789012L));
    assertEquals("k-1234567890123", DocReader.id("k", 1234567890123L));
  }
}
