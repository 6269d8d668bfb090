package io.sparkgpt.jobs.inspect;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgpt.jobs.UserError;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.Type;

/**
 * The rows of a clean output or rejected folder (Spark's part files, JSONL or Parquet, or one such
 * file), read in order without Spark: JSONL with Jackson, Parquet with parquet-hadoop's record
 * reader. Every row becomes a JSON object, so both formats look the same to the inspector.
 */
final class DocFiles {
  static final ObjectMapper JSON = new ObjectMapper();

  enum Kind {
    JSONL,
    PARQUET
  }

  final List<Path> files;
  final Kind kind;

  private DocFiles(List<Path> files, Kind kind) {
    this.files = files;
    this.kind = kind;
  }

  /** The part files of a folder (or the one file), or null when there are none. */
  static DocFiles find(Path path) throws IOException {
    List<Path> files = new ArrayList<>();
    if (Files.isDirectory(path)) {
      try (Stream<Path> s = Files.list(path)) {
        s.filter(
                p ->
                    !p.getFileName().toString().startsWith(".")
                        && !p.getFileName().toString().startsWith("_"))
            .filter(p -> kindOf(p) != null && Files.isRegularFile(p))
            .sorted()
            .forEach(files::add);
      }
    } else if (Files.isRegularFile(path) && kindOf(path) != null) {
      files.add(path);
    }
    if (files.isEmpty()) {
      return null;
    }
    Kind kind = kindOf(files.get(0));
    if (files.stream().anyMatch(f -> kindOf(f) != kind)) {
      throw new UserError(path + ": mixes JSONL and Parquet files");
    }
    return new DocFiles(files, kind);
  }

  static Kind kindOf(Path p) {
    String n = p.getFileName().toString();
    if (n.endsWith(".parquet")) {
      return Kind.PARQUET;
    }
    return n.endsWith(".json")
            || n.endsWith(".jsonl")
            || n.endsWith(".json.gz")
            || n.endsWith(".jsonl.gz")
        ? Kind.JSONL
        : null;
  }

  interface RowVisitor {
    void row(Path file, long rowInFile, ObjectNode row) throws IOException;
  }

  /**
   * Visits every row of every file; a malformed line or an unreadable file is an IOException naming
   * it.
   */
  void forEach(RowVisitor visitor) throws IOException {
    for (Path f : files) {
      forEach(f, visitor);
    }
  }

  void forEach(Path f, RowVisitor visitor) throws IOException {
    read(f, visitor, Long.MAX_VALUE);
  }

  /**
   * The first row of the first readable file that has one, or null (--verify reports unreadable
   * files).
   */
  ObjectNode firstRow() {
    ObjectNode[] first = new ObjectNode[1];
    for (Path f : files) {
      try {
        read(f, (file, n, row) -> first[0] = row, 1);
      } catch (IOException e) {
        continue;
      }
      if (first[0] != null) {
        break;
      }
    }
    return first[0];
  }

  private void read(Path f, RowVisitor visitor, long limit) throws IOException {
    if (kind == Kind.JSONL) {
      try (InputStream raw = Files.newInputStream(f);
          InputStream in = f.toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw;
          BufferedReader r =
              new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        long n = 0;
        while (n < limit && (line = r.readLine()) != null) {
          if (line.isBlank()) {
            continue;
          }
          JsonNode node;
          try {
            node = JSON.readTree(line);
          } catch (IOException e) {
            throw new IOException(f + " line " + (n + 1) + ": malformed JSON");
          }
          if (!(node instanceof ObjectNode o)) {
            throw new IOException(f + " line " + (n + 1) + ": not a JSON object");
          }
          visitor.row(f, n++, o);
        }
      }
      return;
    }
    Configuration conf = new Configuration(false);
    try (ParquetReader<Group> r =
        ParquetReader.builder(new GroupReadSupport(), new org.apache.hadoop.fs.Path(f.toUri()))
            .withConf(conf)
            .build()) {
      Group g;
      long n = 0;
      while (n < limit && (g = r.read()) != null) {
        visitor.row(f, n++, toJson(g));
      }
    } catch (IOException | RuntimeException e) {
      throw new IOException(
          f
              + ": unreadable Parquet ("
              + e.getClass().getSimpleName()
              + (e.getMessage() == null ? "" : ": " + e.getMessage().split("\n")[0])
              + ")",
          e);
    }
  }

  /**
   * A Parquet record as JSON: strings, numbers and booleans as they are, Spark's map columns as
   * objects.
   */
  static ObjectNode toJson(Group g) {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    GroupType t = g.getType();
    for (int i = 0; i < t.getFieldCount(); i++) {
      Type f = t.getType(i);
      if (g.getFieldRepetitionCount(i) == 0) {
        continue;
      }
      if (f.isPrimitive()) {
        switch (f.asPrimitiveType().getPrimitiveTypeName()) {
          case INT32 -> o.put(f.getName(), g.getInteger(i, 0));
          case INT64 -> o.put(f.getName(), g.getLong(i, 0));
          case DOUBLE -> o.put(f.getName(), g.getDouble(i, 0));
          case FLOAT -> o.put(f.getName(), g.getFloat(i, 0));
          case BOOLEAN -> o.put(f.getName(), g.getBoolean(i, 0));
          default -> o.put(f.getName(), g.getString(i, 0));
        }
      } else {
        // Spark writes map<string,string> as a group holding repeated key_value groups.
        Group m = g.getGroup(i, 0);
        ObjectNode map = o.putObject(f.getName());
        GroupType mt = m.getType();
        if (mt.getFieldCount() == 1 && !mt.getType(0).isPrimitive()) {
          for (int k = 0; k < m.getFieldRepetitionCount(0); k++) {
            Group kv = m.getGroup(0, k);
            map.put(
                kv.getString("key", 0),
                kv.getFieldRepetitionCount("value") == 0 ? null : kv.getString("value", 0));
          }
        }
      }
    }
    return o;
  }
}
