package io.sparkgpt.jobs;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * The lines of a byte stream, split at {@code \n} (a {@code \r} before it dropped) and decoded one
 * by one as strict UTF-8, with their 1-based numbers: a line of invalid UTF-8 is reported as that
 * line, with the byte where it goes wrong, and the lines after it are still read.
 */
public final class Utf8Lines {
  private final InputStream in;
  private final ByteArrayOutputStream line = new ByteArrayOutputStream();
  private int number;
  private String text;
  private String error;
  private String lenient;

  public Utf8Lines(InputStream in) {
    this.in = new BufferedInputStream(in, 1 << 16);
  }

  /** Advances to the next line; false at the end of the stream. */
  public boolean next() throws IOException {
    line.reset();
    int b = in.read();
    if (b < 0) {
      return false;
    }
    for (; b >= 0 && b != '\n'; b = in.read()) {
      line.write(b);
    }
    byte[] bytes = line.toByteArray();
    int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
    number++;
    try {
      text = Utf8.decode(bytes, 0, n);
      error = null;
      lenient = text;
    } catch (Utf8.InvalidUtf8 e) {
      text = null;
      error = "at byte " + (e.offset + 1) + " of the line";
      lenient = new String(bytes, 0, n, StandardCharsets.UTF_8);
    }
    return true;
  }

  /** The line's number, from 1. */
  public int number() {
    return number;
  }

  /**
   * The decoded line, or null when it is not valid UTF-8 ({@link #error} says where: "at byte 3 of
   * the line").
   */
  public String text() {
    return text;
  }

  public String error() {
    return error;
  }

  /** The line with invalid bytes replaced by U+FFFD, for reports. */
  public String lenient() {
    return lenient;
  }
}
