package io.sparkgpt.tokenizer.dataset;

import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.Tokenizers;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A finished dataset folder, opened for training without Spark: the manifest is parsed and checked
 * against itself and the files (existence, sizes, Megatron indexes and, unless switched off, every
 * sha256), and the shards are memory-mapped read-only. See {@link SampleReader} for what a sample
 * is.
 *
 * <pre>{@code
 * try (TokenDataset ds = TokenDataset.open(Path.of("data/tok"))) {
 *     SampleReader train = ds.split("train");
 *     int[] perm = train.epochPermutation(epoch, seed);
 *     WorkerSlice mine = train.slice(rank, worldSize);
 *     int[] sample = new int[train.sampleTokens()];
 *     for (int k = mine.start(); k < mine.end(); k++) {
 *         train.sample(perm[k], sample);   // inputs sample[0..seqLen), targets sample[1..seqLen]
 *     }
 * }
 * }</pre>
 */
public final class TokenDataset implements AutoCloseable {
  static final int DEFAULT_CHUNK_BYTES = 1 << 30;

  private final Path dir;
  private final Manifest manifest;
  private final Map<String, SampleReader> splits;
  private final Path tokenizerFile;

  private TokenDataset(
      Path dir, Manifest manifest, Map<String, SampleReader> splits, Path tokenizerFile) {
    this.dir = dir;
    this.manifest = manifest;
    this.splits = splits;
    this.tokenizerFile = tokenizerFile;
  }

  /** Opens and verifies every checksum. */
  public static TokenDataset open(Path dir) throws IOException {
    return open(dir, true);
  }

  /**
   * @param verifyChecksums whether to hash every shard (and the tokenizer copy) against the
   *     manifest; sizes and indexes are always checked
   * @throws InvalidDatasetException (one line) for a missing or unreadable manifest, an unknown
   *     format version, or a manifest that disagrees with itself or with the files
   */
  public static TokenDataset open(Path dir, boolean verifyChecksums) throws IOException {
    return open(dir, verifyChecksums, DEFAULT_CHUNK_BYTES);
  }

  static TokenDataset open(Path dir, boolean verifyChecksums, int chunkBytes) throws IOException {
    Path mf = dir.resolve(Manifest.FILE);
    if (!Files.isRegularFile(mf)) {
      throw new InvalidDatasetException(
          dir
              + ": no "
              + Manifest.FILE
              + " (not a dataset folder, or the tokenize job has not finished writing it)");
    }
    Manifest m;
    try (InputStream in = Files.newInputStream(mf)) {
      m = Manifest.read(in, Manifest.FILE);
      m.validate();
    } catch (IllegalArgumentException e) {
      throw new InvalidDatasetException(dir + ": " + e.getMessage(), e);
    }
    Path tokenizerFile =
        checkFile(
            dir,
            "tokenizer copy " + m.tokenizer().file(),
            m.tokenizer().file(),
            -1,
            m.tokenizer().sha256(),
            verifyChecksums);
    List<Runnable> checks = new ArrayList<>();
    for (Manifest.Shard s : m.allShards()) {
      checks.add(
          () -> {
            try {
              checkFile(dir, "shard " + s.file(), s.file(), s.bytes(), s.sha256(), verifyChecksums);
              if (s.idxFile() != null) {
                checkFile(
                    dir,
                    "index " + s.idxFile(),
                    s.idxFile(),
                    s.idxBytes(),
                    s.idxSha256(),
                    verifyChecksums);
                ByteBuffer idx =
                    ByteBuffer.wrap(Files.readAllBytes(inside(dir, "index", s.idxFile())));
                try {
                  MegatronIndex.check(
                      idx, m.dtype(), s.documents(), s.tokens(), dir + ": index " + s.idxFile());
                } catch (IllegalArgumentException e) {
                  throw new InvalidDatasetException(e.getMessage(), e);
                }
              }
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          });
    }
    try {
      checks.parallelStream().forEach(Runnable::run);
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    Map<String, SampleReader> splits = new LinkedHashMap<>();
    int sampleBytes = m.sampleTokens() * m.dtype().bytes();
    int samplesPerChunk = Math.max(1, chunkBytes / sampleBytes);
    for (Map.Entry<String, Manifest.Split> e : m.splits().entrySet()) {
      List<Manifest.Shard> shards = e.getValue().shards();
      int[] starts = new int[shards.size() + 1];
      List<ByteBuffer[]> chunks = new ArrayList<>();
      for (int k = 0; k < shards.size(); k++) {
        Manifest.Shard s = shards.get(k);
        starts[k + 1] = starts[k] + (int) s.samples();
        chunks.add(map(inside(dir, "shard", s.file()), s.samples(), sampleBytes, samplesPerChunk));
      }
      splits.put(
          e.getKey(),
          new SampleReader(
              e.getKey(), m.dtype(), m.sampleTokens(), samplesPerChunk, starts, chunks));
    }
    return new TokenDataset(dir, m, splits, tokenizerFile);
  }

  /**
   * The dataset file {@code file} of {@code dir}, refused when it (or a link it is) lies outside
   * the folder.
   */
  private static Path inside(Path dir, String what, String file) throws IOException {
    try {
      return PlainFileName.resolve(dir, Manifest.FILE + ": " + what, file);
    } catch (IllegalArgumentException e) {
      throw new InvalidDatasetException(dir + ": " + e.getMessage(), e);
    }
  }

  private static Path checkFile(
      Path dir, String what, String file, long bytes, String sha256, boolean verify)
      throws IOException {
    Path p = inside(dir, what, file);
    if (!Files.isRegularFile(p)) {
      throw new InvalidDatasetException(dir + ": " + what + " is missing");
    }
    long size = Files.size(p);
    if (bytes >= 0 && size != bytes) {
      throw new InvalidDatasetException(
          dir
              + ": "
              + what
              + ": "
              + size
              + " bytes, the manifest says "
              + bytes
              + (size < bytes ? " (truncated)" : " (longer than written)"));
    }
    if (verify) {
      String actual = Sha256.of(p);
      if (!actual.equals(sha256)) {
        throw new InvalidDatasetException(
            dir + ": " + what + ": sha256 mismatch (manifest " + sha256 + ", file " + actual + ")");
      }
    }
    return p;
  }

  /**
   * Maps the whole samples of a shard in chunks of whole samples; reads into memory if mapping is
   * unsupported.
   */
  private static ByteBuffer[] map(Path file, long samples, int sampleBytes, int samplesPerChunk)
      throws IOException {
    int n = (int) ((samples + samplesPerChunk - 1) / samplesPerChunk);
    ByteBuffer[] chunks = new ByteBuffer[n];
    try (SeekableByteChannel ch = Files.newByteChannel(file, StandardOpenOption.READ)) {
      for (int c = 0; c < n; c++) {
        long first = (long) c * samplesPerChunk;
        long position = first * sampleBytes;
        int size = (int) (Math.min(samplesPerChunk, samples - first) * sampleBytes);
        ByteBuffer b;
        if (ch instanceof FileChannel fc) {
          b = fc.map(FileChannel.MapMode.READ_ONLY, position, size);
        } else {
          b = ByteBuffer.allocate(size); // chunks are consecutive from 0: read on, no seeking
          while (b.hasRemaining() && ch.read(b) >= 0) {
            // fill
          }
          if (b.hasRemaining()) {
            throw new InvalidDatasetException(file + ": ended while reading samples (truncated)");
          }
          b.flip();
        }
        chunks[c] = b.order(ByteOrder.LITTLE_ENDIAN);
      }
    }
    return chunks;
  }

  public Path dir() {
    return dir;
  }

  public Manifest manifest() {
    return manifest;
  }

  public int seqLen() {
    return manifest.seqLen();
  }

  /** {@code seq_len + 1}. */
  public int sampleTokens() {
    return manifest.sampleTokens();
  }

  public int vocabSize() {
    return manifest.vocabSize();
  }

  public int eotId() {
    return manifest.eotId();
  }

  public Set<String> splits() {
    return splits.keySet();
  }

  /**
   * @throws IllegalArgumentException for a split the dataset does not have
   */
  public SampleReader split(String name) {
    SampleReader r = splits.get(name);
    if (r == null) {
      throw new IllegalArgumentException(
          dir + ": no split '" + name + "' (has " + splits.keySet() + ")");
    }
    return r;
  }

  public int numSamples(String split) {
    return split(split).numSamples();
  }

  public void sample(String split, int i, int[] out) {
    split(split).sample(i, out);
  }

  public int[] epochPermutation(String split, long epoch, long seed) {
    return split(split).epochPermutation(epoch, seed);
  }

  public WorkerSlice slice(String split, int worker, int numWorkers) {
    return split(split).slice(worker, numWorkers);
  }

  /** The tokenizer copy's path (checked at {@link #open} to lie inside the folder). */
  public Path tokenizerFile() {
    return tokenizerFile;
  }

  /**
   * Loads the dataset's tokenizer copy and checks that its vocabulary size and end-of-text id are
   * the manifest's.
   */
  public Tokenizer tokenizer() throws IOException {
    Path p = tokenizerFile;
    Tokenizer t;
    try {
      t = Tokenizers.load(p.toString());
    } catch (IllegalArgumentException | UncheckedIOException e) {
      throw new InvalidDatasetException(
          dir + ": tokenizer copy " + manifest.tokenizer().file() + ": " + e.getMessage(), e);
    }
    if (t.vocabSize() != manifest.vocabSize() || t.endOfTextId() != manifest.eotId()) {
      throw new InvalidDatasetException(
          dir
              + ": tokenizer copy has vocabulary "
              + t.vocabSize()
              + " and end-of-text "
              + t.endOfTextId()
              + ", the manifest says "
              + manifest.vocabSize()
              + " and "
              + manifest.eotId());
    }
    return t;
  }

  /** Drops the mappings (the JVM unmaps them when they are collected). */
  @Override
  public void close() {
    splits.clear();
  }
}
