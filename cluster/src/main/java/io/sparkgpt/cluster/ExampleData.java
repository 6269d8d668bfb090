package io.sparkgpt.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgpt.model.Batch;
import io.sparkgpt.tokenizer.dataset.SampleReader;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tokenized alignment examples for parameter averaging: a {@code train.jsonl} and a {@code
 * val.jsonl} of {@link Example}s (one JSON object a line, {@code {"seqs": [[ids...], ...],
 * "loss_from": k}}), written by the driver after validating the user's file, read whole by each
 * executor (they are small).
 *
 * <ul>
 *   <li>{@link Kind#SFT}: one sequence per example, template prompt + completion + end-of-text;
 *       rows are padded with {@code padId} to T + 1 tokens, the loss mask is 1 on the targets
 *       {@code seq[lossFrom..len)} (the completion and its end-of-text) and 0 on the prompt and the
 *       padding.
 *   <li>{@link Kind#PAIRS}: two sequences per example, chosen and rejected; a batch of b pairs has
 *       2b rows (the b chosen, then the b rejected, see {@link io.sparkgpt.model.Objective}); each
 *       row's mask is one-hot at its last real token, where the reward is read.
 *   <li>{@link Kind#DPO}: two sequences per example, chosen and rejected, in rows as {@link
 *       Kind#PAIRS}; each row padded and masked as an SFT example (1 on its completion and
 *       end-of-text), so that the row's masked log-probability is the response's. {@link
 *       ReferenceData} adds the reference model's log-probabilities.
 * </ul>
 *
 * {@link #packed()} SFT data packs several examples per row instead of padding each: the examples
 * of a split are placed best-fit decreasing into rows of T + 1 tokens ({@link #pack}), and a batch
 * marks each example's positions ({@link Batch#segments()}), so that attention stays within an
 * example and its position ids start at 0. A position is then a row: trainSize and valSize count
 * rows.
 */
public final class ExampleData extends FileTrainingData {
  private static final long serialVersionUID = 2L;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, List<Example>> LOADED = new ConcurrentHashMap<>();
  public static final String TRAIN = "train.jsonl";
  public static final String VAL = "val.jsonl";

  public enum Kind {
    SFT,
    PAIRS,
    DPO
  }

  /** One example: its token sequences, and (SFT) the index of the first token the loss is on. */
  public record Example(int[][] seqs, int lossFrom) {}

  private final Kind kind;
  private final String dir;
  private final int padId;
  private final boolean packed;

  private ExampleData(
      Kind kind,
      String dir,
      int seqLen,
      int vocabSize,
      int padId,
      String tokenizerFile,
      int trainSize,
      int valSize,
      boolean packed) {
    super(seqLen, vocabSize, tokenizerFile, trainSize, valSize);
    this.packed = packed;
    this.kind = kind;
    this.dir = dir;
    this.padId = padId;
  }

  /**
   * Writes the two splits into {@code dir} and describes them. Every sequence must hold at most
   * {@code seqLen + 1} tokens (SFT, DPO) or {@code seqLen} (pairs: the reward is read at an input
   * position).
   */
  public static ExampleData write(
      Kind kind,
      Path dir,
      List<Example> train,
      List<Example> val,
      int seqLen,
      int vocabSize,
      int padId,
      Path tokenizerFile)
      throws IOException {
    Files.createDirectories(dir);
    writeSplit(dir.resolve(TRAIN), train);
    writeSplit(dir.resolve(VAL), val);
    return new ExampleData(
        kind,
        dir.toAbsolutePath().toString(),
        seqLen,
        vocabSize,
        padId,
        tokenizerFile.toAbsolutePath().toString(),
        train.size(),
        val.size(),
        false);
  }

  /** This SFT data packed (see the class comment); its sizes are the rows of the packed splits. */
  public ExampleData packed() throws IOException {
    if (kind != Kind.SFT) {
      throw new IllegalStateException("only SFT examples are packed");
    }
    int rows = seqLen() + 1;
    return new ExampleData(
        kind,
        dir,
        seqLen(),
        vocabSize(),
        padId,
        tokenizerFile(),
        pack(readSplit(Path.of(dir, TRAIN)), rows).size(),
        pack(readSplit(Path.of(dir, VAL)), rows).size(),
        true);
  }

  /**
   * Tokens of a split's examples over the tokens of its rows: the share of the rows that is not
   * padding.
   */
  public double fill() throws IOException {
    long used = 0;
    for (Example e : readSplit(Path.of(dir, TRAIN))) {
      used += e.seqs()[0].length;
    }
    return used / ((double) trainSize() * (seqLen() + 1));
  }

  /**
   * Best-fit decreasing: the examples, longest first (ties in file order), each into the open row
   * with the least room that still holds it, or a new row; rows in the order they were opened,
   * examples in the order placed.
   */
  static List<List<Example>> pack(List<Example> examples, int rowTokens) {
    List<Example> order = new ArrayList<>(examples);
    order.sort(java.util.Comparator.comparingInt((Example e) -> e.seqs()[0].length).reversed());
    List<List<Example>> rows = new ArrayList<>();
    // room left -> the rows with that much room, in the order they were opened
    java.util.TreeMap<Integer, java.util.ArrayDeque<Integer>> byRoom = new java.util.TreeMap<>();
    int[] room = new int[examples.size()];
    for (Example e : order) {
      int len = e.seqs()[0].length;
      Map.Entry<Integer, java.util.ArrayDeque<Integer>> fit = byRoom.ceilingEntry(len);
      int row;
      if (fit == null) {
        row = rows.size();
        rows.add(new ArrayList<>());
        room[row] = rowTokens;
      } else {
        row = fit.getValue().pollFirst();
        if (fit.getValue().isEmpty()) {
          byRoom.remove(fit.getKey());
        }
      }
      rows.get(row).add(e);
      room[row] -= len;
      byRoom.computeIfAbsent(room[row], k -> new java.util.ArrayDeque<>()).addLast(row);
    }
    return rows;
  }

  private static void writeSplit(Path file, List<Example> examples) throws IOException {
    try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      for (Example e : examples) {
        ObjectNode o = JSON.createObjectNode();
        ArrayNode seqs = o.putArray("seqs");
        for (int[] s : e.seqs()) {
          ArrayNode a = seqs.addArray();
          for (int id : s) {
            a.add(id);
          }
        }
        o.put("loss_from", e.lossFrom());
        w.write(JSON.writeValueAsString(o));
        w.newLine();
      }
    }
  }

  static List<Example> readSplit(Path file) throws IOException {
    List<Example> out = new ArrayList<>();
    try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        JsonNode o = JSON.readTree(line);
        JsonNode seqs = o.get("seqs");
        int[][] s = new int[seqs.size()][];
        for (int i = 0; i < s.length; i++) {
          JsonNode a = seqs.get(i);
          s[i] = new int[a.size()];
          for (int j = 0; j < s[i].length; j++) {
            s[i][j] = a.get(j).asInt();
          }
        }
        out.add(new Example(s, o.path("loss_from").asInt()));
      }
    }
    return out;
  }

  private static final Map<String, List<List<Example>>> UNITS = new ConcurrentHashMap<>();

  /** The split as batch units: one example each, or (packed) the examples of each row. */
  private List<List<Example>> units(String file) {
    return UNITS.computeIfAbsent(
        (packed ? "rows of " + (seqLen() + 1) + "|" : "examples|") + key(file),
        k ->
            packed ? pack(split(file), seqLen() + 1) : split(file).stream().map(List::of).toList());
  }

  private List<Example> split(String file) {
    Path p = Path.of(dir, file);
    return LOADED.computeIfAbsent(
        key(file),
        k -> {
          try {
            return readSplit(p);
          } catch (IOException e) {
            throw new UncheckedIOException(
                p + ": cannot read the examples on this executor: " + e.getMessage(), e);
          }
        });
  }

  /**
   * A split file's cache key: a rerun rewrites the file, and its time and size keep a long-lived
   * executor from the old one.
   */
  private String key(String file) {
    Path p = Path.of(dir, file);
    try {
      return p + "@" + Files.getLastModifiedTime(p).toMillis() + "/" + Files.size(p);
    } catch (IOException e) {
      throw new UncheckedIOException(
          p + ": cannot read the examples on this executor: " + e.getMessage(), e);
    }
  }

  @Override
  public Map<String, Object> settings() {
    return packed ? Map.of("packed", true) : Map.of();
  }

  @Override
  public int rowsPerExample() {
    return kind == Kind.SFT ? 1 : 2;
  }

  @Override
  public Batch trainBatch(long firstPosition, int b, long dataSeed) {
    List<List<Example>> all = units(TRAIN);
    int n = all.size();
    List<List<Example>> picked = new ArrayList<>(b);
    long epoch = -1;
    int[] perm = null;
    for (int i = 0; i < b; i++) {
      long pos = firstPosition + i;
      if (pos / n != epoch) {
        epoch = pos / n;
        perm = SampleReader.permutation(n, epoch, dataSeed);
      }
      picked.add(all.get(perm[(int) (pos % n)]));
    }
    return batch(picked);
  }

  @Override
  public Batch valBatch(int first, int b) {
    List<List<Example>> all = units(VAL);
    List<List<Example>> picked = new ArrayList<>(b);
    for (int i = 0; i < b; i++) {
      picked.add(all.get((first + i) % all.size()));
    }
    return batch(picked);
  }

  /** Rows of the picked units: padded examples, or (packed) packed rows. */
  private Batch batch(List<List<Example>> units) {
    if (packed) {
      return packedBatch(seqLen(), padId, units);
    }
    return batch(kind, seqLen(), padId, units.stream().map(u -> u.get(0)).toList());
  }

  /**
   * SFT rows of several examples each, back to back, then padding; the mask as {@link #batch}'s per
   * example, the segments numbering the examples of a row (the padding after them one more).
   */
  static Batch packedBatch(int seqLen, int padId, List<List<Example>> rows) {
    int b = rows.size();
    int[][] tokens = new int[b][seqLen + 1];
    float[][] mask = new float[b][seqLen];
    int[][] segments = new int[b][seqLen];
    for (int i = 0; i < b; i++) {
      Arrays.fill(tokens[i], padId);
      int at = 0;
      int seg = 0;
      for (Example e : rows.get(i)) {
        int[] s = e.seqs()[0];
        System.arraycopy(s, 0, tokens[i], at, s.length);
        Arrays.fill(segments[i], at, Math.min(seqLen, at + s.length), seg++);
        for (int t = e.lossFrom() - 1; t < s.length - 1; t++) {
          mask[i][at + t] =
              1; // input at + t predicts s[t + 1]; an example's last input predicts the next's
          // first: 0
        }
        at += s.length;
      }
      Arrays.fill(segments[i], Math.min(seqLen, at), seqLen, seg);
    }
    return new Batch(tokens, mask, null, null, segments);
  }

  /** As above for examples held in memory (e.g. an evaluation set). */
  public static Batch batch(Kind kind, int seqLen, int padId, List<Example> examples) {
    int b = examples.size();
    int perExample = kind == Kind.SFT ? 1 : 2;
    int[][] tokens = new int[b * perExample][seqLen + 1];
    float[][] mask = new float[b * perExample][seqLen];
    for (int i = 0; i < b; i++) {
      Example e = examples.get(i);
      for (int j = 0; j < perExample; j++) {
        int[] s = e.seqs()[j];
        int row = j * b + i;
        fill(tokens[row], s, padId);
        if (kind == Kind.PAIRS) {
          mask[row][s.length - 1] = 1;
        } else {
          for (int t = e.lossFrom() - 1; t < s.length - 1; t++) {
            mask[row][t] = 1; // input t predicts s[t + 1]
          }
        }
      }
    }
    return new Batch(tokens, mask);
  }

  private static void fill(int[] row, int[] seq, int padId) {
    Arrays.fill(row, padId);
    System.arraycopy(seq, 0, row, 0, seq.length);
  }
}
