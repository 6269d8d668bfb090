package io.sparkgpt.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The <a href="https://github.com/huggingface/safetensors">safetensors</a> format, written and read
 * here without any other library: an 8-byte little-endian unsigned header length N, N bytes of
 * UTF-8 JSON ({@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {str: str}}}, padded with spaces to a multiple of 8), then the tensors' raw
 * little-endian, C-order bytes; offsets are relative to the end of the header. Tensors are written
 * in name order, contiguous, without gaps.
 *
 * <p>Reading validates everything: file length against the header, JSON shape, known dtypes, shape
 * arithmetic against the byte ranges, ranges inside the data and neither overlapping nor leaving
 * holes. Every failure is an {@link IOException} whose message names the file and what is wrong.
 */
public final class Safetensors {
  /** Headers larger than this are refused (the reference implementation uses 100 MB). */
  static final long MAX_HEADER = 100L << 20;

  private static final ObjectMapper JSON = new ObjectMapper();

  private Safetensors() {}

  /** A tensor read from a file: dtype name ({@code F32}, ...), shape and the INDArray. */
  public record Tensor(String dtype, long[] shape, INDArray array) {}

  /**
   * Writes {@code tensors} (any order; stored sorted by name) and string metadata, atomically
   * replacing {@code file}.
   */
  public static void write(Path file, Map<String, INDArray> tensors, Map<String, String> metadata)
      throws IOException {
    TreeMap<String, INDArray> sorted = new TreeMap<>(tensors);
    ObjectNode header = JSON.createObjectNode();
    if (metadata != null && !metadata.isEmpty()) {
      ObjectNode md = header.putObject("__metadata__");
      new TreeMap<>(metadata).forEach(md::put);
    }
    long offset = 0;
    for (Map.Entry<String, INDArray> e : sorted.entrySet()) {
      if (e.getKey().equals("__metadata__") || e.getKey().isEmpty()) {
        throw new IllegalArgumentException("invalid tensor name '" + e.getKey() + "'");
      }
      INDArray a = e.getValue();
      String dt = dtypeName(a.dataType());
      long bytes = a.length() * (long) a.dataType().width();
      ObjectNode t = header.putObject(e.getKey());
      t.put("dtype", dt);
      ArrayNode sh = t.putArray("shape");
      for (long s : a.shape()) {
        sh.add(s);
      }
      ArrayNode off = t.putArray("data_offsets");
      off.add(offset);
      off.add(offset + bytes);
      offset += bytes;
    }
    byte[] json = JSON.writeValueAsBytes(header);
    int padded = (json.length + 7) / 8 * 8;
    byte[] head = Arrays.copyOf(json, padded);
    Arrays.fill(head, json.length, padded, (byte) ' ');
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (FileChannel ch =
        FileChannel.open(
            tmp,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.WRITE)) {
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
      len.flip();
      writeFully(ch, len);
      writeFully(ch, ByteBuffer.wrap(head));
      for (INDArray a : sorted.values()) {
        writeFully(ch, toBytes(a));
      }
      ch.force(true);
    }
    Files.move(
        tmp,
        file,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      ch.write(b);
    }
  }

  /** The tensor's elements in C order, little-endian. */
  static ByteBuffer toBytes(INDArray a) {
    INDArray c = a.isView() || a.ordering() != 'c' ? a.dup('c') : a;
    long n = c.length();
    ByteBuffer b =
        ByteBuffer.allocate(Math.toIntExact(n * c.dataType().width()))
            .order(ByteOrder.LITTLE_ENDIAN);
    switch (c.dataType()) {
      case FLOAT -> b.asFloatBuffer().put(c.data().asFloat());
      case DOUBLE -> b.asDoubleBuffer().put(c.data().asDouble());
      case INT -> b.asIntBuffer().put(c.data().asInt());
      case LONG -> b.asLongBuffer().put(c.data().asLong());
      default -> throw new IllegalArgumentException("unsupported dtype " + c.dataType());
    }
    return b;
  }

  static String dtypeName(DataType t) {
    return switch (t) {
      case FLOAT -> "F32";
      case DOUBLE -> "F64";
      case INT -> "I32";
      case LONG -> "I64";
      default -> throw new IllegalArgumentException("safetensors writer: unsupported dtype " + t);
    };
  }

  static int dtypeBytes(String dt) {
    return switch (dt) {
      case "F64", "I64", "U64" -> 8;
      case "F32", "I32", "U32" -> 4;
      case "F16", "BF16", "I16", "U16" -> 2;
      case "I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2" -> 1;
      default -> -1;
    };
  }

  /** Header only: tensor name to its header entry, plus metadata. */
  public record Header(
      Map<String, Entry> tensors, Map<String, String> metadata, long dataStart, long fileSize) {}

  public record Entry(String dtype, long[] shape, long begin, long end) {}

  /** Reads and validates the header of {@code file}. */
  public static Header readHeader(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new IOException(file + ": no such file");
    }
    long size = Files.size(file);
    if (size < 8) {
      throw new IOException(
          file + ": " + size + " bytes, too short for a safetensors file (truncated?)");
    }
    long n;
    byte[] json;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      readFully(ch, len, file);
      n = len.flip().getLong();
      if (n <= 0 || n > MAX_HEADER) {
        throw new IOException(
            file
                + ": header length "
                + Long.toUnsignedString(n)
                + " is invalid (not a safetensors file?)");
      }
      if (8 + n > size) {
        throw new IOException(
            file
                + ": header of "
                + n
                + " bytes does not fit in the file of "
                + size
                + " bytes (truncated)");
      }
      ByteBuffer h = ByteBuffer.allocate((int) n);
      readFully(ch, h, file);
      json = h.array();
    }
    JsonNode root;
    try {
      root = JSON.readTree(new String(json, StandardCharsets.UTF_8).strip());
    } catch (IOException e) {
      throw new IOException(file + ": header is not valid JSON: " + e.getMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new IOException(file + ": header is not a JSON object");
    }
    Map<String, Entry> tensors = new LinkedHashMap<>();
    Map<String, String> metadata = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      String name = f.getKey();
      JsonNode v = f.getValue();
      if (name.equals("__metadata__")) {
        if (!v.isObject()) {
          throw new IOException(file + ": __metadata__ is not an object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> m = v.fields(); m.hasNext(); ) {
          Map.Entry<String, JsonNode> e = m.next();
          if (!e.getValue().isTextual()) {
            throw new IOException(file + ": __metadata__." + e.getKey() + " is not a string");
          }
          metadata.put(e.getKey(), e.getValue().asText());
        }
        continue;
      }
      String where = file + ": tensor '" + name + "': ";
      if (!v.isObject()
          || !v.path("dtype").isTextual()
          || !v.path("shape").isArray()
          || !v.path("data_offsets").isArray()
          || v.path("data_offsets").size() != 2) {
        throw new IOException(where + "needs dtype, shape and two data_offsets");
      }
      String dt = v.get("dtype").asText();
      int w = dtypeBytes(dt);
      if (w < 0) {
        throw new IOException(where + "unknown dtype " + dt);
      }
      long[] shape = new long[v.get("shape").size()];
      long count = 1;
      for (int i = 0; i < shape.length; i++) {
        JsonNode s = v.get("shape").get(i);
        if (!s.canConvertToLong() || s.asLong() < 0) {
          throw new IOException(where + "invalid shape " + v.get("shape"));
        }
        shape[i] = s.asLong();
        try {
          count = Math.multiplyExact(count, shape[i]);
          Math.multiplyExact(count, (long) w);
        } catch (ArithmeticException overflow) {
          throw new IOException(
              where
                  + "shape "
                  + v.get("shape")
                  + " of "
                  + dt
                  + " has more bytes than a file can hold");
        }
      }
      long b = v.get("data_offsets").get(0).asLong(-1);
      long e = v.get("data_offsets").get(1).asLong(-1);
      if (b < 0 || e < b) {
        throw new IOException(where + "invalid data_offsets " + v.get("data_offsets"));
      }
      if (e - b != count * w) {
        throw new IOException(
            where
                + "shape "
                + Arrays.toString(shape)
                + " of "
                + dt
                + " needs "
                + count * w
                + " bytes, data_offsets give "
                + (e - b));
      }
      tensors.put(name, new Entry(dt, shape, b, e));
    }
    long dataLen = size - 8 - n;
    List<Entry> byBegin = new ArrayList<>(tensors.values());
    byBegin.sort((x, y) -> Long.compare(x.begin(), y.begin()));
    long expect = 0;
    for (Entry en : byBegin) {
      if (en.begin() != expect) {
        throw new IOException(
            file
                + ": tensor data "
                + (en.begin() < expect ? "overlaps" : "has a gap")
                + " at offset "
                + en.begin());
      }
      expect = en.end();
    }
    if (expect != dataLen) {
      throw new IOException(
          file
              + ": tensors cover "
              + expect
              + " data bytes but the file holds "
              + dataLen
              + (expect > dataLen ? " (truncated)" : " (trailing bytes)"));
    }
    return new Header(tensors, metadata, 8 + n, size);
  }

  private static void readFully(FileChannel ch, ByteBuffer b, Path file) throws IOException {
    while (b.hasRemaining()) {
      if (ch.read(b) < 0) {
        throw new IOException(file + ": ended early (truncated)");
      }
    }
  }

  /** Reads every tensor (F32, F64, I32, I64, and F16/BF16 widened to F32). */
  public static Map<String, Tensor> read(Path file) throws IOException {
    Header h = readHeader(file);
    Map<String, Tensor> out = new LinkedHashMap<>();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      for (Map.Entry<String, Entry> e : h.tensors().entrySet()) {
        Entry en = e.getValue();
        ByteBuffer b =
            ByteBuffer.allocate(Math.toIntExact(en.end() - en.begin()))
                .order(ByteOrder.LITTLE_ENDIAN);
        ch.position(h.dataStart() + en.begin());
        readFully(ch, b, file);
        b.flip();
        out.put(
            e.getKey(),
            new Tensor(
                en.dtype(), en.shape(), toArray(en.dtype(), en.shape(), b, file, e.getKey())));
      }
    }
    return out;
  }

  private static INDArray toArray(String dt, long[] shape, ByteBuffer b, Path file, String name)
      throws IOException {
    int n = (int) (b.remaining() / dtypeBytes(dt));
    long[] shp = shape.length == 0 ? new long[0] : shape;
    switch (dt) {
      case "F32" -> {
        float[] f = new float[n];
        b.asFloatBuffer().get(f);
        return Nd4j.create(f, shp, 'c');
      }
      case "F64" -> {
        double[] d = new double[n];
        b.asDoubleBuffer().get(d);
        return Nd4j.create(d, shp, 'c');
      }
      case "I32" -> {
        int[] d = new int[n];
        b.asIntBuffer().get(d);
        return Nd4j.createFromArray(d).reshape(shp);
      }
      case "I64" -> {
        long[] d = new long[n];
        b.asLongBuffer().get(d);
        return Nd4j.createFromArray(d).reshape(shp);
      }
      case "F16", "BF16" -> {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
          int bits = b.getShort(2 * i) & 0xFFFF;
          f[i] = dt.equals("BF16") ? Float.intBitsToFloat(bits << 16) : halfToFloat(bits);
        }
        return Nd4j.create(f, shp, 'c');
      }
      default ->
          throw new IOException(
              file + ": tensor '" + name + "': dtype " + dt + " cannot be loaded");
    }
  }

  static float halfToFloat(int h) {
    int s = (h >>> 15) & 1, e = (h >>> 10) & 0x1F, m = h & 0x3FF;
    float v;
    if (e == 0) {
      v = (float) (m * Math.pow(2, -24));
    } else if (e == 31) {
      v = m == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
    } else {
      v = (float) ((1 + m / 1024.0) * Math.pow(2, e - 15));
    }
    return s == 1 ? -v : v;
  }
}
