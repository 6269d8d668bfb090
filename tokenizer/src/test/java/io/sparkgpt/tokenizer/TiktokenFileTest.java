package io.sparkgpt.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The standard tiktoken rank-file loader, the bundled files, and errors on broken files. */
class TiktokenFileTest {

  static byte[] resource(String name) throws IOException {
    try (InputStream in = Tokenizers.class.getResourceAsStream(name)) {
      return in.readAllBytes();
    }
  }

  @Test
  void bundledFilesAreOpenAIsFiles() throws Exception {
    MessageDigest sha = MessageDigest.getInstance("SHA-256");
    assertEquals(
        "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
        HexFormat.of().formatHex(sha.digest(resource("r50k_base.tiktoken"))));
    assertEquals(
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        HexFormat.of().formatHex(sha.digest(resource("cl100k_base.tiktoken"))));
  }

  @Test
  void writeReadRoundTripIsByteIdentical() throws Exception {
    byte[] original = resource("cl100k_base.tiktoken");
    byte[][] ranks = TiktokenFile.read(new ByteArrayInputStream(original), "cl100k");
    assertEquals(100256, ranks.length);
    assertArrayEquals(" the".getBytes(StandardCharsets.UTF_8), ranks[279]);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    TiktokenFile.write(ranks, out);
    assertArrayEquals(original, out.toByteArray());
  }

  @Test
  void loadsARankFileByPath(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("r50k_base.tiktoken");
    Files.write(file, resource("r50k_base.tiktoken"));
    Tokenizer t = Tokenizers.load(file.toString());
    String text =
        Corpus.documents().get("prose_en/tinyshakespeare.txt").get(0).substring(0, 20_000);
    assertArrayEquals(Tokenizers.r50kBase().encode(text), t.encode(text));
    assertEquals(50256, t.endOfTextId());
  }

  @Test
  void brokenFilesFailWithOneLineMessages() throws Exception {
    String good = new String(resource("r50k_base.tiktoken"), StandardCharsets.US_ASCII);
    assertEquals(
        "f line 3: no final newline (truncated file?)",
        error(good.substring(0, good.indexOf('\n', good.indexOf('\n') + 1) + 4)));
    assertEquals("f line 2: Illegal base64 character 21", error("IQ== 0\nI!== 1\n"));
    assertEquals("f line 2: For input string: \"x\"", error("IQ== 0\nIg== x\n"));
    assertEquals("f line 2: rank 0 appears twice", error("IQ== 0\nIg== 0\n"));
    assertEquals("f line 2: token IQ== already has rank 0", error("IQ== 0\nIQ== 1\n"));
    assertEquals("f line 1: expected 'base64 rank'", error("IQ==0\n"));
    assertEquals("f: empty rank file", error(""));
    // A file cut at a line end parses, but then lacks byte tokens.
    byte[][] head =
        TiktokenFile.read(
            new ByteArrayInputStream(
                good.substring(0, 700)
                    .substring(0, good.substring(0, 700).lastIndexOf('\n') + 1)
                    .getBytes(StandardCharsets.US_ASCII)),
            "f");
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> ByteLevelBpe.fromRanks("f", SplitPattern.GPT2, head, java.util.Map.of()));
    assertTrue(e.getMessage().startsWith("vocabulary lacks the single-byte token"), e.getMessage());
  }

  static String error(String file) {
    return assertThrows(
            IllegalArgumentException.class,
            () ->
                TiktokenFile.read(
                    new ByteArrayInputStream(file.getBytes(StandardCharsets.US_ASCII)), "f"))
        .getMessage();
  }

  @Test
  void unknownSpecsAndMissingFiles() {
    assertEquals(
        "unknown tokenizer 'p50k_edit': expected r50k_base, cl100k_base, or a path ending in .json, .model or .tiktoken",
        assertThrows(IllegalArgumentException.class, () -> Tokenizers.load("p50k_edit"))
            .getMessage());
    assertEquals(
        "tokenizer file not found: /nonexistent/x.json",
        assertThrows(IllegalArgumentException.class, () -> Tokenizers.load("/nonexistent/x.json"))
            .getMessage());
  }
}
