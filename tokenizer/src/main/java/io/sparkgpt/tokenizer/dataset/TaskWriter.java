package io.sparkgpt.tokenizer.dataset;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Writes the documents of one task (one input split of a job) into shards of its own, in the order
 * they come, with no exchange with other tasks: per split, shards {@link
 * ShardWriter#shardName(String, int, int) split-TASK-PART} of at least {@code shardTokens} tokens
 * each (a shard is closed at the first document boundary at or past the target; only a task's last
 * shard of a split is smaller), and the counts per source.
 *
 * <p>{@link #commit()} commits the open shards, then the task record {@code task-TASK.json} (the
 * shards in order and the source counts): that rename is the task's commit point. A rerun calls
 * {@link #finished} and skips a task whose record and shards are all present with this layout; any
 * other task is written again from its first document, overwriting the shards of an interrupted
 * attempt with identical ones. {@link DatasetWriter#finish} deletes the records.
 *
 * <p>Not thread-safe; one writer per task.
 */
public final class TaskWriter implements Closeable {
  private static final Pattern RECORD = Pattern.compile("task-\\d{5,}\\.json");

  private final DatasetFiles files;
  private final int task;
  private final Layout layout;
  private final long shardTokens;
  private final Map<String, ShardWriter> open = new TreeMap<>();
  private final Map<String, List<Manifest.Shard>> shards = new TreeMap<>();
  private final Map<String, Long> pendingRejected = new TreeMap<>();
  private final Map<String, long[]> sources = new TreeMap<>();
  private boolean closed;

  private TaskWriter(DatasetFiles files, int task, Layout layout, long shardTokens) {
    this.files = files;
    this.task = task;
    this.layout = layout;
    this.shardTokens = shardTokens;
  }

  /**
   * A writer for task {@code task} (at least 0) with shards of at least {@code shardTokens} tokens.
   */
  public static TaskWriter create(DatasetFiles files, int task, Layout layout, long shardTokens) {
    if (task < 0 || shardTokens < 1) {
      throw new IllegalArgumentException(
          "task must not be negative and shard tokens positive, got " + task + ", " + shardTokens);
    }
    return new TaskWriter(files, task, layout, shardTokens);
  }

  /** {@code task-00003.json}. */
  public static String recordFile(int task) {
    return String.format(Locale.ROOT, "task-%05d.json", task);
  }

  static boolean isRecord(String name) {
    return RECORD.matcher(name).matches();
  }

  /** What a committed task wrote: its shards per split, in order, and its counts per source. */
  public record Result(
      @JsonProperty("task") int task,
      @JsonProperty("layout") Layout layout,
      @JsonProperty("shards") Map<String, List<Manifest.Shard>> shards,
      @JsonProperty("sources") Map<String, Manifest.Source> sources)
      implements Serializable {

    /** The record's JSON, as {@code task-TASK.json} holds it (a form any serializer can ship). */
    public byte[] toJson() {
      try {
        return Manifest.JSON.writeValueAsBytes(this);
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }

    public static Result fromJson(byte[] json) throws IOException {
      return Manifest.JSON.readValue(json, Result.class);
    }
  }

  /**
   * The task as an earlier run committed it, if its record has this layout and every shard it lists
   * is present with its recorded sizes; empty if the task must be written.
   */
  public static Optional<Result> finished(DatasetFiles files, int task, Layout layout)
      throws IOException {
    String name = recordFile(task);
    if (files.size(name) < 0) {
      return Optional.empty();
    }
    Result r;
    try (InputStream in = files.open(name)) {
      r = Manifest.JSON.readValue(in, Result.class);
    } catch (JsonProcessingException e) {
      return Optional.empty();
    }
    if (r.task() != task
        || !layout.equals(r.layout())
        || r.shards() == null
        || r.sources() == null) {
      return Optional.empty();
    }
    for (List<Manifest.Shard> list : r.shards().values()) {
      for (Manifest.Shard s : list) {
        String shard = s.file().substring(0, s.file().length() - ".bin".length());
        if (ShardWriter.finished(files, shard, layout).filter(s::equals).isEmpty()) {
          return Optional.empty();
        }
      }
    }
    return Optional.of(r);
  }

  /**
   * Appends a document ({@code ids[from, to)}, then end-of-text) to the current shard of {@code
   * split}, starting a new shard when the current one holds {@code shardTokens} or more.
   *
   * @throws IllegalArgumentException as {@link ShardWriter#addDocument(int[], int, int, long)};
   *     nothing is added
   */
  public void addDocument(String split, String source, int[] ids, int from, int to, long textBytes)
      throws IOException {
    ShardWriter w = open.get(split);
    if (w != null && w.tokens() >= shardTokens) {
      commitShard(split);
      w = null;
    }
    if (w == null) {
      w = startShard(split);
    }
    w.addDocument(ids, from, to, textBytes);
    if (from < to) {
      long[] c = sources.computeIfAbsent(source, k -> new long[4]);
      c[0]++;
      c[1] += to - from + 1L;
      c[2] += textBytes;
    }
  }

  /**
   * Counts a document the job rejected, in {@code split}'s current (or next) shard and in its
   * source.
   */
  public void addRejected(String split, String source) {
    ShardWriter w = open.get(split);
    if (w != null) {
      w.addRejected(1);
    } else {
      pendingRejected.merge(split, 1L, Long::sum);
    }
    sources.computeIfAbsent(source, k -> new long[4])[3]++;
  }

  private ShardWriter startShard(String split) throws IOException {
    int index = shards.computeIfAbsent(split, k -> new ArrayList<>()).size();
    ShardWriter w = ShardWriter.create(files, split, task, index, layout);
    open.put(split, w);
    Long pending = pendingRejected.remove(split);
    if (pending != null) {
      w.addRejected(pending);
    }
    return w;
  }

  private void commitShard(String split) throws IOException {
    ShardWriter w = open.remove(split);
    shards.get(split).add(w.commit());
  }

  /**
   * Commits the open shards (a split with only rejected documents gets an empty shard to count
   * them), then the task record.
   */
  public Result commit() throws IOException {
    if (closed) {
      throw new IllegalStateException("task " + task + " is already closed");
    }
    for (String split : new ArrayList<>(pendingRejected.keySet())) {
      startShard(split);
    }
    for (String split : new ArrayList<>(open.keySet())) {
      commitShard(split);
    }
    Map<String, Manifest.Source> counts = new TreeMap<>();
    sources.forEach((k, c) -> counts.put(k, new Manifest.Source(c[0], c[1], c[2], c[3])));
    Result r = new Result(task, layout, new LinkedHashMap<>(shards), counts);
    DatasetWriter.writeAtomically(files, recordFile(task), r.toJson());
    closed = true;
    return r;
  }

  /** Without {@link #commit()}: abandons the open shards (their temporary files are deleted). */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    IOException first = null;
    for (ShardWriter w : open.values()) {
      try {
        w.close();
      } catch (IOException e) {
        first = first == null ? e : first;
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
