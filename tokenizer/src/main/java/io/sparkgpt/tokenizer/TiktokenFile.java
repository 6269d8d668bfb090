package io.sparkgpt.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;

/** The tiktoken rank file format: one line {@code base64(token bytes) SPACE rank} per token. */
final class TiktokenFile {
  /** Far above any real vocabulary; keeps a corrupt rank from allocating gigabytes. */
  static final int MAX_RANK = 1 << 24;

  private TiktokenFile() {}

  /**
   * Reads a rank file; returns {@code tokens[rank]} (null where a rank is unused).
   *
   * @throws IllegalArgumentException on any malformed line, duplicate token or rank, or a file that
   *     does not end with a newline (a truncated download)
   */
  public static byte[][] read(InputStream in, String source) throws IOException {
    byte[] data = in.readAllBytes();
    byte[][] tokens = new byte[1 << 16][];
    Map<String, Integer> seen = new HashMap<>(1 << 17);
    Base64.Decoder base64 = Base64.getDecoder();
    int max = -1;
    int lineNo = 0;
    for (int at = 0; at < data.length; ) {
      lineNo++;
      String where = source + " line " + lineNo;
      int end = at;
      while (end < data.length && data[end] != '\n') {
        end++;
      }
      if (end == data.length) {
        throw new IllegalArgumentException(where + ": no final newline (truncated file?)");
      }
      int space = -1;
      for (int i = at; i < end; i++) {
        if (data[i] == ' ') {
          if (space >= 0) {
            space = -1;
            break;
          }
          space = i;
        }
      }
      if (space <= at || space == end - 1) {
        throw new IllegalArgumentException(where + ": expected 'base64 rank'");
      }
      String b64 = new String(data, at, space - at, StandardCharsets.ISO_8859_1);
      byte[] token;
      int rank;
      try {
        token = base64.decode(b64);
        rank =
            Integer.parseInt(
                new String(data, space + 1, end - space - 1, StandardCharsets.ISO_8859_1));
      } catch (IllegalArgumentException e) { // NumberFormatException is one too
        throw new IllegalArgumentException(where + ": " + e.getMessage());
      }
      if (token.length == 0 || rank < 0 || rank > MAX_RANK) {
        throw new IllegalArgumentException(
            where + ": empty token, or rank outside [0, " + MAX_RANK + "]");
      }
      if (rank >= tokens.length) {
        tokens = Arrays.copyOf(tokens, Math.max(rank + 1, tokens.length * 2));
      }
      if (tokens[rank] != null) {
        throw new IllegalArgumentException(where + ": rank " + rank + " appears twice");
      }
      Integer previous = seen.put(b64, rank);
      if (previous != null) {
        throw new IllegalArgumentException(
            where + ": token " + b64 + " already has rank " + previous);
      }
      tokens[rank] = token;
      max = Math.max(max, rank);
      at = end + 1;
    }
    if (max < 0) {
      throw new IllegalArgumentException(source + ": empty rank file");
    }
    return Arrays.copyOf(tokens, max + 1);
  }

  /** Writes {@code tokens[rank]} (null entries skipped) in rank order. */
  public static void write(byte[][] tokens, OutputStream out) throws IOException {
    Writer w = new OutputStreamWriter(out, StandardCharsets.US_ASCII);
    Base64.Encoder base64 = Base64.getEncoder();
    for (int rank = 0; rank < tokens.length; rank++) {
      if (tokens[rank] != null) {
        w.write(base64.encodeToString(tokens[rank]));
        w.write(' ');
        w.write(Integer.toString(rank));
        w.write('\n');
      }
    }
    w.flush();
  }
}
