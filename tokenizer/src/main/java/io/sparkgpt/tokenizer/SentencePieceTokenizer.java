package io.sparkgpt.tokenizer;

import ai.djl.sentencepiece.SpProcessor;
import ai.djl.sentencepiece.SpTokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A SentencePiece {@code .model} run by the native library through DJL's JNI binding. The model
 * file is checked here first (a minimal protobuf read of its pieces), so a corrupt file fails with
 * a message, not in native code.
 *
 * <p>Special tokens are the model's control pieces ({@code <s>}, {@code </s>}, ...): as everywhere
 * in this package they are produced only where the caller allows them; user-defined pieces are
 * ordinary text to SentencePiece and are always matched by it. Sharing between threads relies on
 * the C++ processor's const (thread-safe) Encode/Decode; {@link #close()} frees the native model.
 */
final class SentencePieceTokenizer implements Tokenizer {
  private static final int CONTROL = 3;

  private final String name;
  private final SpTokenizer sp;
  private final SpProcessor processor;
  private final int size;
  private final Map<String, Integer> specials;
  private final int endOfText;

  private SentencePieceTokenizer(String name, byte[] model) {
    List<String> pieces = new ArrayList<>();
    List<Integer> types = new ArrayList<>();
    readPieces(model, name, pieces, types);
    this.name = name;
    this.size = pieces.size();
    Map<String, Integer> control = new LinkedHashMap<>();
    for (int id = 0; id < size; id++) {
      if (types.get(id) == CONTROL) {
        control.put(pieces.get(id), id);
      }
    }
    this.specials = Collections.unmodifiableMap(control);
    this.endOfText = control.getOrDefault("</s>", -1);
    try {
      this.sp = new SpTokenizer(model);
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          name + ": SentencePiece rejected the model: " + e.getMessage());
    }
    this.processor = sp.getProcessor();
  }

  public static SentencePieceTokenizer load(Path path) throws IOException {
    return new SentencePieceTokenizer(path.toString(), Files.readAllBytes(path));
  }

  public static SentencePieceTokenizer load(byte[] model, String name) {
    return new SentencePieceTokenizer(name, model);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public int vocabSize() {
    return size;
  }

  @Override
  public Map<String, Integer> specialTokens() {
    return specials;
  }

  @Override
  public int endOfTextId() {
    return endOfText;
  }

  @Override
  public int encode(CharSequence text, Set<String> allowedSpecial, IntArray out) {
    int before = out.size();
    String s = text.toString();
    if (allowedSpecial.isEmpty()) {
      out.addAll(processor.encode(s));
      return out.size() - before;
    }
    for (String a : allowedSpecial) {
      if (!specials.containsKey(a)) {
        throw new IllegalArgumentException(
            ByteLevel.quote(a) + " is not a control piece of " + name);
      }
    }
    int pos = 0;
    while (pos <= s.length()) {
      int best = -1;
      String bestText = null;
      for (String a : allowedSpecial) {
        int i = s.indexOf(a, pos);
        if (i >= 0 && (best < 0 || i < best || (i == best && a.length() > bestText.length()))) {
          best = i;
          bestText = a;
        }
      }
      String segment = s.substring(pos, best < 0 ? s.length() : best);
      if (!segment.isEmpty()) {
        out.addAll(processor.encode(segment));
      }
      if (best < 0) {
        break;
      }
      out.add(specials.get(bestText));
      pos = best + bestText.length();
    }
    return out.size() - before;
  }

  @Override
  public byte[] decodeBytes(int[] ids) {
    return decode(ids).getBytes(StandardCharsets.UTF_8);
  }

  /**
   * SentencePiece decodes to text directly (pieces are whole characters, or bytes under byte
   * fallback).
   */
  @Override
  public String decode(int[] ids) {
    for (int id : ids) {
      if (id < 0 || id >= size) {
        throw new IllegalArgumentException(
            "invalid token id " + id + " for " + name + " (vocabulary size " + size + ")");
      }
    }
    return processor.decode(ids);
  }

  @Override
  public void close() {
    sp.close();
  }

  // --- a minimal protobuf reader: ModelProto.pieces (field 1) -> SentencePiece{piece = 1, score =
  // 2, type = 3}

  private static void readPieces(byte[] b, String name, List<String> pieces, List<Integer> types) {
    Reader r = new Reader(b, 0, b.length, name);
    while (r.more()) {
      long tag = r.varint();
      int field = (int) (tag >>> 3), wire = (int) (tag & 7);
      if (field == 1 && wire == 2) {
        int len = r.length();
        Reader p = new Reader(b, r.at, r.at + len, name);
        r.at += len;
        String piece = null;
        int type = 1; // NORMAL
        while (p.more()) {
          long t = p.varint();
          int f = (int) (t >>> 3), w = (int) (t & 7);
          if (f == 1 && w == 2) {
            int n = p.length();
            piece = new String(b, p.at, n, StandardCharsets.UTF_8);
            p.at += n;
          } else if (f == 3 && w == 0) {
            type = (int) p.varint();
          } else {
            p.skip(w);
          }
        }
        if (piece == null) {
          throw new IllegalArgumentException(name + ": piece " + pieces.size() + " has no text");
        }
        pieces.add(piece);
        types.add(type);
      } else {
        r.skip(wire);
      }
    }
    if (pieces.isEmpty()) {
      throw new IllegalArgumentException(name + ": not a SentencePiece model (no pieces)");
    }
  }

  private static final class Reader {
    final byte[] b;
    final int end;
    final String name;
    int at;

    Reader(byte[] b, int at, int end, String name) {
      this.b = b;
      this.at = at;
      this.end = end;
      this.name = name;
    }

    boolean more() {
      return at < end;
    }

    long varint() {
      long v = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (at >= end) {
          throw bad("truncated varint");
        }
        byte x = b[at++];
        v |= (long) (x & 0x7F) << shift;
        if (x >= 0) {
          return v;
        }
      }
      throw bad("varint too long");
    }

    int length() {
      long n = varint();
      if (n < 0 || n > end - at) {
        throw bad("length " + n + " runs past the end");
      }
      return (int) n;
    }

    void skip(int wire) {
      switch (wire) {
        case 0:
          varint();
          break;
        case 1:
          advance(8);
          break;
        case 2:
          advance(length());
          break; // not "at += length()": that would add to the old at
        case 5:
          advance(4);
          break;
        default:
          throw bad("unsupported wire type " + wire);
      }
    }

    private void advance(int n) {
      if (end - at < n) {
        throw bad("truncated field");
      }
      at += n;
    }

    private IllegalArgumentException bad(String why) {
      return new IllegalArgumentException(
          name + ": not a valid SentencePiece model (" + why + " at byte " + at + ")");
    }
  }
}
