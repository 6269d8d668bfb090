package io.sparkgpt.tokenizer.dataset;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import io.sparkgpt.tokenizer.IntArray;
import io.sparkgpt.tokenizer.Tokenizer;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes one shard: every document's token ids followed by the end-of-text id, little-endian in the
 * layout's dtype, streamed through SHA-256. Nothing appears under a final name until {@link
 * #commit()}, which renames the data file (then, for Megatron, the {@code .idx}) into place and
 * last the shard's {@code .shard.json} record: that rename is the commit point. A writer closed
 * without commit deletes its temporary files.
 *
 * <p>Tokens are not dropped: the whole stream is stored, and a reader windows it into samples of
 * {@code seq_len + 1} tokens from the shard's start; the last {@code tokens % (seq_len + 1)} tokens
 * belong to no sample ({@code unsampled_tokens}).
 *
 * <p>One writer per task; not thread-safe.
 */
public final class ShardWriter implements Closeable {
  private static final int BUFFER = 1 << 16;
  private static final VarHandle SHORTS =
      MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle INTS =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

  private final DatasetFiles files;
  private final Layout layout;
  private final String split;
  private final int index;
  private final String name;
  private final String tmp;
  private final int tokenBytes;
  private final MessageDigest digest = Sha256.newDigest();
  private final byte[] buf = new byte[BUFFER];
  private final IntArray docLengths;
  private final IntArray scratch = new IntArray(4096);
  private final long startNanos = System.nanoTime();
  private OutputStream out;
  private int pos;
  private long tokens;
  private long documents;
  private long emptyDocuments;
  private long rejectedDocuments;
  private long textBytes;
  private boolean committed;
  private boolean closed;

  private final Integer task;

  private ShardWriter(DatasetFiles files, String split, Integer task, int index, Layout layout)
      throws IOException {
    this.files = files;
    this.layout = layout;
    this.split = checkSplit(split);
    this.task = task;
    this.index = index;
    this.name = task == null ? shardName(split, index) : shardName(split, task, index);
    this.tmp =
        DatasetFiles.TEMP_MARKER
            + Long.toHexString(ThreadLocalRandom.current().nextLong() | 1L << 62);
    this.tokenBytes = layout.dtype().bytes();
    this.docLengths = layout.format() == Format.MEGATRON ? new IntArray(1024) : null;
    this.out = files.create(dataFile(name) + tmp);
  }

  /**
   * Starts shard {@code index} of {@code split} (overwriting any unfinished attempt; a finished
   * shard is replaced only when this writer commits). Call {@link #finished} first to skip shards a
   * previous run finished.
   */
  public static ShardWriter create(DatasetFiles files, String split, int index, Layout layout)
      throws IOException {
    if (index < 0 || index > 99_999) {
      throw new IllegalArgumentException("shard index must be in [0, 99999], got " + index);
    }
    return new ShardWriter(files, split, null, index, layout);
  }

  /**
   * Starts shard {@code index} of {@code split} written by task {@code task} alone ({@link
   * TaskWriter}): named {@link #shardName(String, int, int)}, so that tasks never share a name.
   */
  public static ShardWriter create(
      DatasetFiles files, String split, int task, int index, Layout layout) throws IOException {
    if (task < 0 || index < 0) {
      throw new IllegalArgumentException(
          "task and shard index must not be negative, got " + task + ", " + index);
    }
    return new ShardWriter(files, split, task, index, layout);
  }

  /**
   * {@code train-00003}: the shard's name; its files add {@code .bin}, {@code .idx} and {@code
   * .shard.json}.
   */
  public static String shardName(String split, int index) {
    return String.format(Locale.ROOT, "%s-%05d", checkSplit(split), index);
  }

  /** {@code train-00003-00001}: shard 1 of task 3's {@code train} documents. */
  public static String shardName(String split, int task, int index) {
    return String.format(Locale.ROOT, "%s-%05d-%05d", checkSplit(split), task, index);
  }

  public static String dataFile(String shardName) {
    return shardName + ".bin";
  }

  public static String indexFile(String shardName) {
    return shardName + ".idx";
  }

  public static String recordFile(String shardName) {
    return shardName + ".shard.json";
  }

  /**
   * The shard as a previous run committed it, if that run used the same layout and its files are
   * all present with the recorded sizes; empty if the shard must be (re)written.
   */
  public static Optional<Manifest.Shard> finished(
      DatasetFiles files, String split, int index, Layout layout) throws IOException {
    return finished(files, shardName(split, index), layout);
  }

  /** {@link #finished(DatasetFiles, String, int, Layout)} for the shard of that name. */
  static Optional<Manifest.Shard> finished(DatasetFiles files, String n, Layout layout)
      throws IOException {
    if (files.size(recordFile(n)) < 0) {
      return Optional.empty();
    }
    Record r;
    try (InputStream in = files.open(recordFile(n))) {
      r = Manifest.JSON.readValue(in, Record.class);
    } catch (JsonProcessingException e) {
      return Optional.empty();
    }
    Manifest.Shard s = r.shard();
    if (!layout.equals(r.layout())
        || s == null
        || !dataFile(n).equals(s.file())
        || files.size(s.file()) != s.bytes()) {
      return Optional.empty();
    }
    if (layout.format() == Format.MEGATRON
        && (s.idxFile() == null
            || s.idxBytes() == null
            || files.size(s.idxFile()) != s.idxBytes())) {
      return Optional.empty();
    }
    return Optional.of(s);
  }

  /**
   * What {@code .shard.json} holds: the layout the shard was written with and its manifest entry.
   */
  public record Record(
      @JsonProperty("split") String split,
      @JsonProperty("index") int index,
      @JsonProperty("layout") Layout layout,
      @JsonProperty("shard") Manifest.Shard shard,
      @JsonProperty("task") @JsonInclude(JsonInclude.Include.NON_NULL) Integer task) {}

  /**
   * Appends one document ({@code ids[from, to)}, then the end-of-text id). A document without
   * tokens is counted as empty and stores nothing.
   *
   * @param textBytes the document's UTF-8 bytes, for the statistics
   * @throws IllegalArgumentException if an id is outside the vocabulary or is the end-of-text id
   *     (the writer is unchanged)
   */
  public void addDocument(int[] ids, int from, int to, long textBytes) throws IOException {
    ensureOpen();
    if (from == to) {
      emptyDocuments++;
      return;
    }
    int vocab = layout.vocabSize();
    int eot = layout.eotId();
    for (int i = from; i < to; i++) {
      int id = ids[i];
      if (id < 0 || id >= vocab || id == eot) {
        throw new IllegalArgumentException(
            id == eot
                ? "document contains the end-of-text id "
                    + eot
                    + " at token "
                    + (i - from)
                    + "; documents are separated by it"
                : "token id " + id + " is outside the vocabulary of " + vocab);
      }
    }
    put(ids, from, to);
    put(eot);
    long n = to - from + 1L;
    if (docLengths != null) {
      docLengths.add((int) n);
    }
    tokens += n;
    documents++;
    this.textBytes += textBytes;
  }

  public void addDocument(int[] ids, long textBytes) throws IOException {
    addDocument(ids, 0, ids.length, textBytes);
  }

  public void addDocument(IntArray ids, long textBytes) throws IOException {
    addDocument(ids.array(), 0, ids.size(), textBytes);
  }

  /**
   * Encodes {@code text} with {@code tokenizer} (special-token text as ordinary text) and appends
   * it.
   */
  public void addText(Tokenizer tokenizer, CharSequence text) throws IOException {
    scratch.clear();
    tokenizer.encode(text, scratch);
    addDocument(scratch, utf8Length(text));
  }

  /**
   * Counts documents the job rejected (for example undecodable ones) into this shard's statistics.
   */
  public void addRejected(long count) {
    rejectedDocuments += count;
  }

  public long tokens() {
    return tokens;
  }

  public long documents() {
    return documents;
  }

  public String name() {
    return name;
  }

  /**
   * Finishes the shard: closes the data file, writes the Megatron index if any and the shard
   * record, and renames them into place (the record last).
   *
   * @return the shard's manifest entry
   */
  public Manifest.Shard commit() throws IOException {
    ensureOpen();
    flush();
    out.close();
    out = null;
    String sha = Sha256.hex(digest.digest());
    String idxFile = null;
    Long idxBytes = null;
    String idxSha = null;
    if (docLengths != null) {
      idxFile = indexFile(name);
      MessageDigest md = Sha256.newDigest();
      try (OutputStream o =
          new DigestOutputStream(
              new BufferedOutputStream(files.create(idxFile + tmp), BUFFER), md)) {
        MegatronIndex.write(o, layout.dtype(), docLengths);
      }
      idxBytes = MegatronIndex.size(docLengths.size());
      idxSha = Sha256.hex(md.digest());
    }
    int st = layout.sampleTokens();
    Manifest.Shard shard =
        new Manifest.Shard(
            dataFile(name),
            documents,
            emptyDocuments,
            rejectedDocuments,
            tokens,
            tokens / st,
            tokens % st,
            tokens * tokenBytes,
            sha,
            idxFile,
            idxBytes,
            idxSha,
            textBytes,
            Math.round((System.nanoTime() - startNanos) / 1e6) / 1e3);
    try (OutputStream o = files.create(recordFile(name) + tmp)) {
      Manifest.JSON.writeValue(o, new Record(split, index, layout, shard, task));
    }
    files.rename(dataFile(name) + tmp, dataFile(name));
    if (idxFile != null) {
      files.rename(idxFile + tmp, idxFile);
    }
    files.rename(recordFile(name) + tmp, recordFile(name));
    committed = true;
    closed = true;
    return shard;
  }

  /** Without a prior {@link #commit()}: abandons the shard and deletes its temporary files. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try {
      if (out != null) {
        out.close();
      }
    } finally {
      out = null;
      files.delete(dataFile(name) + tmp);
      files.delete(indexFile(name) + tmp);
      files.delete(recordFile(name) + tmp);
    }
  }

  /** Appends ids[from, to) little-endian, a buffer's worth at a time. */
  private void put(int[] ids, int from, int to) throws IOException {
    int i = from;
    while (i < to) {
      if (pos + tokenBytes > BUFFER) {
        flush();
      }
      int end = Math.min(to, i + (BUFFER - pos) / tokenBytes);
      if (tokenBytes == 2) {
        for (; i < end; i++, pos += 2) {
          SHORTS.set(buf, pos, (short) ids[i]);
        }
      } else {
        for (; i < end; i++, pos += 4) {
          INTS.set(buf, pos, ids[i]);
        }
      }
    }
  }

  private void put(int id) throws IOException {
    if (pos + 4 > BUFFER) {
      flush();
    }
    buf[pos] = (byte) id;
    buf[pos + 1] = (byte) (id >>> 8);
    if (tokenBytes == 4) {
      buf[pos + 2] = (byte) (id >>> 16);
      buf[pos + 3] = (byte) (id >>> 24);
    }
    pos += tokenBytes;
  }

  private void flush() throws IOException {
    if (pos > 0) {
      digest.update(buf, 0, pos);
      out.write(buf, 0, pos);
      pos = 0;
    }
  }

  private void ensureOpen() {
    if (closed) {
      throw new IllegalStateException(
          "shard " + name + " is already " + (committed ? "committed" : "closed"));
    }
  }

  private static String checkSplit(String split) {
    if (split == null || !split.matches("[a-z][a-z0-9_]*")) {
      throw new IllegalArgumentException(
          "split name must match [a-z][a-z0-9_]*, got '" + split + "'");
    }
    return split;
  }

  /**
   * UTF-8 length of {@code s}; an unpaired surrogate counts as the 3 bytes of U+FFFD, as the
   * encoder sees it.
   */
  public static long utf8Length(CharSequence s) {
    long n = 0;
    int len = s.length();
    for (int i = 0; i < len; i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        n++;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < len
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else {
        n += 3;
      }
    }
    return n;
  }
}
