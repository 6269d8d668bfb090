package io.sparkgpt.jobs.inspect;

import io.sparkgpt.jobs.UserError;
import io.sparkgpt.tokenizer.Tokenizer;
import io.sparkgpt.tokenizer.dataset.Dtype;
import io.sparkgpt.tokenizer.dataset.Format;
import io.sparkgpt.tokenizer.dataset.Manifest;
import io.sparkgpt.tokenizer.dataset.MegatronIndex;
import io.sparkgpt.tokenizer.dataset.Sha256;
import io.sparkgpt.tokenizer.dataset.TokenDataset;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/** A token dataset folder written by tokenize: its manifest, shards and tokenizer copy. */
final class DatasetInspector implements InspectCommand.Inspected {
  /** Printed between documents in a decoded sample. */
  static final String BOUNDARY = "\n\u27e6end of document\u27e7\n";

  private final Path dir;

  DatasetInspector(Path dir) {
    this.dir = dir;
  }

  @Override
  public String kind() {
    return "a token dataset";
  }

  private Manifest manifest() throws IOException {
    try (InputStream in = Files.newInputStream(dir.resolve(Manifest.FILE))) {
      Manifest m = Manifest.read(in, Manifest.FILE);
      m.validate();
      return m;
    } catch (IllegalArgumentException e) {
      throw new IOException(dir + ": " + e.getMessage(), e);
    }
  }

  @Override
  public Map<String, Object> summary() throws IOException {
    Manifest m = manifest();
    Map<String, Object> s = new LinkedHashMap<>();
    s.put("kind", "dataset");
    s.put("path", dir.toString());
    s.put("format", m.format().id());
    s.put("dtype", m.dtype().id());
    s.put("vocab_size", m.vocabSize());
    s.put("eot_id", m.eotId());
    s.put("seq_len", m.seqLen());
    s.put("tokenizer", m.tokenizer().name() + " (" + m.tokenizer().file() + ")");
    Map<String, Object> splits = new LinkedHashMap<>();
    m.splits()
        .forEach(
            (name, sp) -> {
              Map<String, Object> x = new LinkedHashMap<>();
              x.put("documents", sp.documents());
              x.put("empty_documents", sp.emptyDocuments());
              x.put("rejected_documents", sp.rejectedDocuments());
              x.put("tokens", sp.tokens());
              x.put("samples", sp.samples());
              x.put("text_bytes", sp.textBytes());
              x.put(
                  "bytes_per_token",
                  sp.tokens() > sp.documents()
                      ? Math.round((double) sp.textBytes() / (sp.tokens() - sp.documents()) * 1000)
                          / 1000.0
                      : 0.0);
              x.put("shards", sp.shards().size());
              splits.put(name, x);
            });
    s.put("splits", splits);
    if (m.stats() != null) {
      s.put("stored_bytes", m.stats().storedBytes());
      s.put("seconds", m.stats().seconds());
    }
    if (!m.parameters().isEmpty()) {
      s.put("parameters", m.parameters());
    }
    return s;
  }

  @Override
  public String verify(List<String> problems) throws IOException {
    Manifest m;
    try {
      m = manifest();
    } catch (IOException e) {
      problems.add(e.getMessage());
      return "the manifest";
    }
    int files = 0;
    checkFile(m.tokenizer().file(), -1, m.tokenizer().sha256(), "tokenizer copy", problems);
    files++;
    Set<String> listed = new HashSet<>(List.of(Manifest.FILE, m.tokenizer().file()));
    for (Manifest.Shard s : m.allShards()) {
      listed.add(s.file());
      files++;
      if (checkFile(s.file(), s.bytes(), s.sha256(), "shard", problems)
          && m.format() == Format.NATIVE) {
        long eots = countEot(dir.resolve(s.file()), m.dtype(), m.eotId());
        if (eots != s.documents()) {
          problems.add(
              "shard "
                  + s.file()
                  + ": "
                  + eots
                  + " end-of-text tokens, the manifest says "
                  + s.documents()
                  + " documents");
        }
      }
      if (s.idxFile() != null) {
        listed.add(s.idxFile());
        files++;
        if (checkFile(s.idxFile(), s.idxBytes(), s.idxSha256(), "index", problems)) {
          try {
            MegatronIndex.check(
                ByteBuffer.wrap(Files.readAllBytes(dir.resolve(s.idxFile()))),
                m.dtype(),
                s.documents(),
                s.tokens(),
                "index " + s.idxFile());
          } catch (IllegalArgumentException e) {
            problems.add(e.getMessage());
          }
        }
      }
    }
    try (Stream<Path> all = Files.list(dir)) {
      all.map(p -> p.getFileName().toString())
          .filter(n -> (n.endsWith(".bin") || n.endsWith(".idx")) && !listed.contains(n))
          .sorted()
          .forEach(n -> problems.add(n + ": a shard file the manifest does not list"));
    }
    return files + " files, sha256 and end-of-text counts";
  }

  /**
   * Whether the file exists with the size and sha256 the manifest gives (size -1: not recorded).
   */
  private boolean checkFile(
      String name, long bytes, String sha256, String what, List<String> problems)
      throws IOException {
    Path p = dir.resolve(name);
    if (!Files.isRegularFile(p)) {
      problems.add(what + " " + name + ": missing");
      return false;
    }
    long size = Files.size(p);
    if (bytes >= 0 && size != bytes) {
      problems.add(what + " " + name + ": " + size + " bytes, the manifest says " + bytes);
      return false;
    }
    String actual = Sha256.of(p);
    if (!actual.equals(sha256)) {
      problems.add(what + " " + name + ": sha256 " + actual + ", the manifest says " + sha256);
      return false;
    }
    return true;
  }

  interface TokenVisitor {
    void token(int id);
  }

  /** Streams a shard's tokens (little-endian uint16 or uint32) in order. */
  static void forEachToken(Path shard, Dtype dtype, TokenVisitor v) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
    try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.READ)) {
      while (true) {
        int read = ch.read(buf);
        buf.flip();
        if (dtype.bytes() == 2) {
          while (buf.remaining() >= 2) {
            v.token(Short.toUnsignedInt(buf.getShort()));
          }
        } else {
          while (buf.remaining() >= 4) {
            v.token(buf.getInt());
          }
        }
        buf.compact();
        if (read < 0) {
          return; // a trailing partial token is the size check's business
        }
      }
    }
  }

  static long countEot(Path shard, Dtype dtype, int eot) throws IOException {
    long[] n = new long[1];
    forEachToken(
        shard,
        dtype,
        t -> {
          if (t == eot) {
            n[0]++;
          }
        });
    return n[0];
  }

  /** Lengths in tokens of every document of every split (the tokens before each end-of-text). */
  @Override
  public Histogram.Lengths lengths() throws IOException {
    Manifest m = manifest();
    if (m.format() != Format.NATIVE) {
      throw new UserError("--histogram reads native datasets; this one is " + m.format().id());
    }
    List<Long> out = new ArrayList<>();
    for (Manifest.Shard s : m.allShards()) {
      long[] run = new long[1];
      forEachToken(
          dir.resolve(s.file()),
          m.dtype(),
          t -> {
            if (t == m.eotId()) {
              out.add(run[0]);
              run[0] = 0;
            } else {
              run[0]++;
            }
          });
    }
    return new Histogram.Lengths(out.stream().mapToLong(Long::longValue).toArray(), "tokens");
  }

  /**
   * Sample i of a split decoded with the dataset's own tokenizer, a marker wherever a document
   * ends.
   */
  String decodeSample(String split, int i) throws IOException {
    try (TokenDataset ds = TokenDataset.open(dir, false)) {
      if (!ds.splits().contains(split)) {
        throw new UserError(
            "--split: no split '" + split + "' (the dataset has " + ds.splits() + ")");
      }
      int n = ds.numSamples(split);
      if (i >= n) {
        throw new UserError(
            "--sample " + i + ": split " + split + " has " + n + " samples (0 to " + (n - 1) + ")");
      }
      int[] tokens = new int[ds.sampleTokens()];
      ds.sample(split, i, tokens);
      Tokenizer t = ds.tokenizer();
      StringBuilder text = new StringBuilder();
      int start = 0;
      int boundaries = 0;
      for (int k = 0; k <= tokens.length; k++) {
        if (k == tokens.length || tokens[k] == ds.eotId()) {
          text.append(t.decode(java.util.Arrays.copyOfRange(tokens, start, k)));
          if (k < tokens.length) {
            text.append(BOUNDARY);
            boundaries++;
          }
          start = k + 1;
        }
      }
      return "sample "
          + i
          + " of "
          + split
          + " ("
          + n
          + " samples): "
          + tokens.length
          + " tokens, "
          + boundaries
          + " document end"
          + (boundaries == 1 ? "" : "s")
          + " marked "
          + BOUNDARY.strip()
          + "\n"
          + text
          + "\n";
    }
  }
}
