package io.sparkgpt.jobs.input;

import java.io.IOException;
import java.io.InputStream;

/**
 * Reads lines of raw bytes with their byte offsets, without decoding (UTF-8 is checked per document
 * later). A line longer than the cap is not buffered past the cap, only measured, so one giant line
 * cannot exhaust memory.
 */
final class ByteLines {
  private final InputStream in;
  private final int cap;
  private final byte[] chunk = new byte[1 << 16];
  private int chunkPos;
  private int chunkLen;
  private long position;

  /** The current line: bytes [0, length) of {@link #line}, without '\n' or a trailing '\r'. */
  byte[] line = new byte[256];

  int length;

  /**
   * The full length of the current line, which exceeds {@link #length} only when the line was
   * capped.
   */
  long fullLength;

  long offset;
  boolean capped;

  /**
   * Whether the line ended with '\n' (the last line of a file may not), and whether a '\r' before
   * it was dropped.
   */
  boolean newline;

  boolean cr;

  ByteLines(InputStream in, int cap) {
    this.in = in;
    this.cap = cap;
  }

  /** Advances to the next line; false at end of input. */
  boolean next() throws IOException {
    length = 0;
    fullLength = 0;
    capped = false;
    newline = false;
    cr = false;
    offset = position;
    boolean any = false;
    while (true) {
      if (chunkPos == chunkLen) {
        chunkLen = in.read(chunk, 0, chunk.length);
        chunkPos = 0;
        if (chunkLen <= 0) {
          chunkLen = 0;
          stripCr();
          return any;
        }
      }
      any = true;
      int start = chunkPos;
      int end = start;
      while (end < chunkLen && chunk[end] != '\n') {
        end++;
      }
      append(start, end - start);
      position += end - start;
      chunkPos = end;
      if (end < chunkLen) { // found '\n'
        chunkPos++;
        position++;
        newline = true;
        stripCr();
        return true;
      }
    }
  }

  private void append(int from, int n) {
    fullLength += n;
    int room = cap - length;
    if (n > room) {
      capped = true;
      n = Math.max(room, 0);
    }
    if (length + n > line.length) {
      line = java.util.Arrays.copyOf(line, Math.max(length + n, Math.min(cap, line.length * 2)));
    }
    System.arraycopy(chunk, from, line, length, n);
    length += n;
  }

  private void stripCr() {
    if (!capped && length > 0 && line[length - 1] == '\r') {
      length--;
      cr = true;
    }
  }

  /** True when the current line holds nothing but spaces, tabs or '\r'. */
  boolean blank() {
    for (int i = 0; i < length; i++) {
      byte b = line[i];
      if (b != ' ' && b != '\t' && b != '\r') {
        return false;
      }
    }
    return !capped;
  }
}
