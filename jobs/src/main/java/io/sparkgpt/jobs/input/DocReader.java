package io.sparkgpt.jobs.input;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgpt.jobs.UserError;
import io.sparkgpt.jobs.Utf8;
import io.sparkgpt.jobs.input.Inputs.Format;
import io.sparkgpt.jobs.input.Inputs.InputFile;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.io.LongWritable;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionCodecFactory;
import org.apache.hadoop.mapred.FileSplit;
import org.apache.hadoop.mapred.TextInputFormat;
import org.apache.spark.api.java.JavaHadoopRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.input.PortableDataStream;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import scala.Tuple2;

/**
 * Step 0, "decode": turns input files into documents. Text files are split per --doc-split, JSONL
 * lines are parsed, Parquet rows are read; gzip, zstd and bzip2 are decompressed by file suffix.
 * Anything that cannot be decoded (invalid UTF-8, malformed JSON, a missing text field, an oversize
 * document) comes out quarantined with its reason instead of being dropped or mangled.
 */
public final class DocReader {
  public enum DocSplit {
    FILE,
    BLANK_LINE,
    LINE
  }

  public enum Content {
    AUTO,
    PROSE,
    CODE
  }

  public record Options(DocSplit split, String textField, Content content, long maxDocBytes)
      implements Serializable {}

  /** Document size is bounded by --max-doc-bytes, not by Jackson's default 20 MB string limit. */
  private static final ObjectMapper JSON =
      new ObjectMapper(
          com.fasterxml.jackson.core.JsonFactory.builder()
              .streamReadConstraints(
                  com.fasterxml.jackson.core.StreamReadConstraints.builder()
                      .maxStringLength(Integer.MAX_VALUE)
                      .build())
              .build());

  private DocReader() {}

  public static JavaRDD<Doc> read(
      SparkSession spark, List<InputFile> files, Options o, int minPartitions) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    ZstdCodec.register(jsc.hadoopConfiguration());
    HashMap<String, String> keys = new HashMap<>();
    for (InputFile f : files) {
      keys.put(f.path(), fileKey(f.name()));
    }
    List<String> lineFiles = new ArrayList<>();
    List<String> wholeFiles = new ArrayList<>();
    List<String> parquetFiles = new ArrayList<>();
    for (InputFile f : files) {
      switch (f.format()) {
        case JSONL -> lineFiles.add(f.path());
        case PARQUET -> parquetFiles.add(f.path());
        case TEXT -> (o.split() == DocSplit.LINE ? lineFiles : wholeFiles).add(f.path());
      }
    }
    List<JavaRDD<Doc>> parts = new ArrayList<>();
    if (!lineFiles.isEmpty()) {
      List<String> jsonl =
          files.stream().filter(f -> f.format() == Format.JSONL).map(InputFile::path).toList();
      @SuppressWarnings("unchecked")
      JavaHadoopRDD<LongWritable, Text> lines =
          (JavaHadoopRDD<LongWritable, Text>)
              jsc.hadoopFile(
                  String.join(",", lineFiles),
                  TextInputFormat.class,
                  LongWritable.class,
                  Text.class,
                  minPartitions);
      parts.add(
          lines.mapPartitionsWithInputSplit(
              (split, it) -> {
                String file = ((FileSplit) split).getPath().toString();
                String key = keyOf(keys, file);
                LineDecoder dec = new LineDecoder(file, key, jsonl.contains(file), o);
                return new Iterator<Doc>() {
                  long position;
                  boolean broken;
                  Doc next = advance();

                  private Doc advance() {
                    try {
                      while (!broken && it.hasNext()) {
                        Tuple2<LongWritable, Text> t = it.next();
                        position = t._1.get() + t._2.getLength() + 1;
                        Doc d = dec.decode(t._1.get(), t._2.getBytes(), t._2.getLength());
                        if (d != null) {
                          return d;
                        }
                      }
                    } catch (
                        Exception
                            e) { // Hadoop's reader throws IOException through Scala, undeclared
                      if (!(e instanceof IOException io) || !compressed(file)) {
                        throw e instanceof RuntimeException r
                            ? r
                            : new java.io.UncheckedIOException((IOException) e);
                      }
                      broken =
                          true; // a compressed file is one split: the rest of it cannot be read
                      return corruptCompressed(file, key, position, io);
                    }
                    return null;
                  }

                  @Override
                  public boolean hasNext() {
                    return next != null;
                  }

                  @Override
                  public Doc next() {
                    Doc d = next;
                    next = advance();
                    return d;
                  }
                };
              },
              false));
    }
    if (!wholeFiles.isEmpty()) {
      parts.add(
          jsc.binaryFiles(String.join(",", wholeFiles), minPartitions)
              .mapPartitions(
                  it -> {
                    Configuration conf = new Configuration(false);
                    ZstdCodec.register(conf);
                    conf.set(
                        "io.compression.codecs",
                        conf.get("io.compression.codecs")
                            + ",org.apache.hadoop.io.compress.GzipCodec,org.apache.hadoop.io.compress.BZip2Codec"
                            + ",org.apache.hadoop.io.compress.DefaultCodec");
                    CompressionCodecFactory codecs = new CompressionCodecFactory(conf);
                    List<Doc> out = new ArrayList<>();
                    while (it.hasNext()) {
                      Tuple2<String, PortableDataStream> file = it.next();
                      readTextFile(file._1, keyOf(keys, file._1), file._2, codecs, o, out);
                    }
                    return out.iterator();
                  }));
    }
    if (!parquetFiles.isEmpty()) {
      parts.add(readParquet(spark, parquetFiles, keys, o));
    }
    JavaRDD<Doc> all = parts.get(0);
    for (int i = 1; i < parts.size(); i++) {
      all = all.union(parts.get(i));
    }
    return all;
  }

  /**
   * A stable document id is 16 hex digits of SHA-256 of the file's {@link InputFile#name} (its path
   * below the input argument, so ids do not change when the corpus moves), then the record's
   * position in the file.
   */
  static String fileKey(String path) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(path.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(h, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The key of an input file as a task sees its path (Parquet's file_path is a URI: decoded here).
   */
  static String keyOf(Map<String, String> keys, String path) {
    String key = keys.get(path);
    if (key == null) {
      key = keys.get(new Path(java.net.URI.create(path)).toString());
    }
    if (key == null) {
      throw new IllegalStateException("a task read a file that is not among the inputs: " + path);
    }
    return key;
  }

  /** The key, '-', then the position as 12 digits or more (per document: no String.format). */
  static String id(String fileKey, long position) {
    String digits = Long.toString(position);
    return digits.length() >= 12 || position < 0
        ? fileKey + "-" + String.format(Locale.ROOT, "%012d", position)
        : fileKey + "-" + "000000000000".substring(digits.length()) + digits;
  }

  /**
   * Marks a document as code (with its programming language) or prose, per --content and the path.
   */
  static void classify(Doc d, Content content, String path) {
    String lang = CodeLanguages.of(path);
    d.code = content == Content.CODE || (content == Content.AUTO && lang != null);
    if (d.code) {
      d.language = lang != null ? lang : "code";
    }
  }

  static boolean compressed(String file) {
    String name = new Path(file).getName().toLowerCase(Locale.ROOT);
    return !Inputs.stripCompression(name).equals(name);
  }

  /**
   * The unreadable rest of a compressed file, from decompressed byte {@code position} on, as one
   * record.
   */
  static Doc corruptCompressed(String file, String key, long position, IOException e) {
    return quarantined(
        id(key, position),
        file,
        0,
        "corrupt_compressed_input",
        file
            + ": "
            + e.getClass().getSimpleName()
            + (e.getMessage() == null ? "" : ": " + e.getMessage().split("\n")[0])
            + " after "
            + position
            + " decompressed bytes");
  }

  private static Doc quarantined(String id, String source, long bytes, String rule, String detail) {
    Doc d = new Doc(id, source);
    d.inputBytes = bytes;
    d.quarantine(rule, detail);
    return d;
  }

  /** One line of a JSONL file or of a text file read with --doc-split line. */
  static final class LineDecoder {
    private final String file;
    private final String key;
    private final boolean jsonl;
    private final Options o;

    LineDecoder(String file, String key, boolean jsonl, Options o) {
      this.file = file;
      this.key = key;
      this.jsonl = jsonl;
      this.o = o;
    }

    /** Returns null for a blank line, which separates records and is not one. */
    Doc decode(long offset, byte[] bytes, int len) {
      String id = id(key, offset);
      if (len > o.maxDocBytes()) {
        return quarantined(
            id,
            file,
            len,
            "too_large",
            "line of " + len + " bytes exceeds --max-doc-bytes " + o.maxDocBytes());
      }
      try {
        Utf8.validate(bytes, 0, len);
      } catch (Utf8.InvalidUtf8 e) {
        Doc d =
            quarantined(
                id, file, len, "invalid_utf8", e.getMessage() + " of line at offset " + offset);
        d.raw = java.util.Arrays.copyOf(bytes, len);
        return d;
      }
      if (blank(bytes, len)) {
        return null;
      }
      Doc d = new Doc(id, file);
      d.inputBytes = len;
      if (!jsonl) {
        d.text = new String(bytes, 0, len, StandardCharsets.UTF_8);
        classify(d, o.content(), file);
        return d;
      }
      // Streaming parse of the line's bytes (no String of the whole line): the text field is
      // decoded straight into a String, other fields become metadata; the line's text is made
      // only for a quarantined record.
      String value = null;
      long utf8Bytes = 0; // of value, or -1 - the index of an unpaired surrogate in it
      JsonToken textToken = null;
      try (JsonParser p = parser(bytes, len)) {
        if (p.nextToken() != JsonToken.START_OBJECT) {
          Doc q = quarantined(id, file, len, "not_a_json_object", "line at offset " + offset);
          q.text = new String(bytes, 0, len, StandardCharsets.UTF_8);
          return q;
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.getCurrentName();
          JsonToken t = p.nextToken();
          if (name.equals(o.textField())) {
            textToken = t;
            if (t == JsonToken.VALUE_STRING) { // checked and measured on the parser's chars
              char[] chars = p.getTextCharacters();
              utf8Bytes = Utf8.lengthOrUnpaired(chars, p.getTextOffset(), p.getTextLength());
              value = new String(chars, p.getTextOffset(), p.getTextLength());
            } else {
              value = null;
            }
            p.skipChildren();
          } else if (t == JsonToken.VALUE_STRING
              || t == JsonToken.VALUE_NUMBER_INT
              || t == JsonToken.VALUE_TRUE
              || t == JsonToken.VALUE_FALSE
              || t == JsonToken.VALUE_NULL) {
            // as written, which is how a tree would print them too; a tree costs a JsonNode and
            // a serializer lookup per record (several percent of a tokenize task)
            d.metadata.put(name, p.getText());
          } else {
            d.metadata.put(name, p.readValueAsTree().toString());
          }
        }
        if (p.nextToken() != null) {
          throw new com.fasterxml.jackson.core.JsonParseException(
              p, "trailing content after the object");
        }
      } catch (JsonProcessingException e) {
        Doc q =
            quarantined(
                id,
                file,
                len,
                "malformed_json",
                e.getOriginalMessage() + " (line at offset " + offset + ")");
        q.text = new String(bytes, 0, len, StandardCharsets.UTF_8);
        return q;
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      if (value == null) {
        boolean missing = textToken == null || textToken == JsonToken.VALUE_NULL;
        Doc q =
            quarantined(
                id,
                file,
                len,
                missing ? "missing_text_field" : "text_not_a_string",
                "field '" + o.textField() + "' (line at offset " + offset + ")");
        q.text = new String(bytes, 0, len, StandardCharsets.UTF_8);
        return q;
      }
      if (utf8Bytes < 0) {
        int bad = (int) (-1 - utf8Bytes);
        Doc q =
            quarantined(
                id,
                file,
                len,
                "unpaired_surrogate",
                String.format(
                    Locale.ROOT,
                    "\\u%04X at char %d (line at offset %d)",
                    (int) value.charAt(bad),
                    bad,
                    offset));
        q.text = new String(bytes, 0, len, StandardCharsets.UTF_8);
        return q;
      }
      d.replaceText(value, utf8Bytes);
      String path = d.metadata.getOrDefault("path", d.metadata.getOrDefault("source", file));
      classify(d, o.content(), path);
      return d;
    }
  }

  /**
   * Whether a valid UTF-8 line is blank as {@link String#isBlank} sees it; the String is made only
   * when a non-ASCII byte comes before any other character.
   */
  static boolean blank(byte[] bytes, int len) {
    for (int i = 0; i < len; i++) {
      if (bytes[i] < 0) {
        return new String(bytes, i, len - i, StandardCharsets.UTF_8).isBlank();
      }
      if (!Character.isWhitespace(bytes[i])) {
        return false;
      }
    }
    return true;
  }

  /**
   * Jackson's byte parser (UTF-8 decoded as it reads, no char copy of the line) unless the line
   * starts like a BOM or a UTF-16/32 text (EF or a zero byte in its first four): the byte parser
   * would detect an encoding there where the line is UTF-8 text, so such a line is parsed from its
   * decoded String, as every line was before.
   */
  static JsonParser parser(byte[] bytes, int len) throws IOException {
    boolean detectable = len > 0 && bytes[0] == (byte) 0xEF;
    for (int i = 0; i < Math.min(4, len); i++) {
      detectable |= bytes[i] == 0;
    }
    return detectable
        ? JSON.getFactory().createParser(new String(bytes, 0, len, StandardCharsets.UTF_8))
        : JSON.getFactory().createParser(bytes, 0, len);
  }

  /** A whole text file as one document (--doc-split file) or as blank-line separated documents. */
  static void readTextFile(
      String file,
      String key,
      PortableDataStream stream,
      CompressionCodecFactory codecs,
      Options o,
      List<Doc> out)
      throws IOException {
    CompressionCodec codec = codecs.getCodec(new Path(file));
    int cap = (int) Math.min(Integer.MAX_VALUE - 16, o.maxDocBytes());
    Chunk doc = new Chunk(cap);
    try (InputStream raw = stream.open();
        InputStream in = codec == null ? raw : codec.createInputStream(raw)) {
      ByteLines lines = new ByteLines(in, cap);
      boolean wholeFile = o.split() == DocSplit.FILE;
      while (lines.next()) {
        boolean separator = !wholeFile && lines.blank();
        if (separator) {
          doc.emit(file, key, o, out);
          continue;
        }
        doc.add(lines);
      }
      doc.emit(file, key, o, out);
    } catch (IOException e) {
      if (codec == null) {
        throw e;
      }
      // Documents before the damage stay; the one being read and the rest of the file are one
      // quarantined record.
      out.add(corruptCompressed(file, key, doc.start(), e));
    }
  }

  /**
   * Accumulates the lines of one document, up to the size cap, and turns them into a Doc. It keeps
   * the bytes exactly as read, line ends included ({@code \r\n} stays {@code \r\n}, a final newline
   * stays), so that a quarantined record holds them unchanged; the text is made from them by
   * dropping the last line end and the {@code \r} of every {@code \r\n}.
   */
  private static final class Chunk {
    private final int cap;
    private long end;
    private byte[] buf = new byte[1024];
    private int len;

    /** The text's length in bytes (lines joined by '\n'), measured past the cap; -1: empty. */
    private long fullLength = -1;

    private long offset;

    Chunk(int cap) {
      this.cap = cap;
    }

    /** Where the document being read starts (the end of the last one when none is). */
    long start() {
      return fullLength >= 0 ? offset : end;
    }

    void add(ByteLines l) {
      if (fullLength < 0) {
        offset = l.offset;
        fullLength = 0;
      } else {
        fullLength++;
      }
      fullLength += l.fullLength;
      for (int i = 0; i < l.length; i++) {
        put(l.line[i]);
      }
      if (l.cr) {
        put((byte) '\r');
      }
      if (l.newline) {
        put((byte) '\n');
      }
    }

    /**
     * The document's text from the exact bytes: without the last line end, {@code \r\n} as {@code
     * \n}.
     */
    private static String text(String raw) {
      String t = raw.endsWith("\n") ? raw.substring(0, raw.length() - 1) : raw;
      t = t.endsWith("\r") ? t.substring(0, t.length() - 1) : t;
      return t.indexOf('\r') < 0 ? t : t.replace("\r\n", "\n");
    }

    /**
     * Keeps the byte unless the document is already too large to be kept (then only its length
     * counts).
     */
    private void put(byte b) {
      if (fullLength > cap || len >= Integer.MAX_VALUE - 16) {
        return;
      }
      if (len == buf.length) {
        buf =
            java.util.Arrays.copyOf(
                buf, (int) Math.min(Integer.MAX_VALUE - 16, (long) buf.length * 2));
      }
      buf[len++] = b;
    }

    void emit(String file, String key, Options o, List<Doc> out) {
      if (fullLength < 0) {
        return;
      }
      String id = id(key, offset);
      if (fullLength > o.maxDocBytes()) {
        out.add(
            quarantined(
                id,
                file,
                fullLength,
                "too_large",
                "document of " + fullLength + " bytes exceeds --max-doc-bytes " + o.maxDocBytes()));
      } else {
        try {
          Doc d = new Doc(id, file);
          d.inputBytes = fullLength;
          d.text = text(Utf8.decode(buf, 0, len));
          classify(d, o.content(), file);
          out.add(d);
        } catch (Utf8.InvalidUtf8 e) {
          Doc d =
              quarantined(
                  id,
                  file,
                  fullLength,
                  "invalid_utf8",
                  "invalid UTF-8 at byte " + (offset + e.offset) + " of the file");
          d.raw = java.util.Arrays.copyOf(buf, len);
          out.add(d);
        }
      }
      end = offset + fullLength;
      len = 0;
      fullLength = -1;
    }
  }

  /**
   * Parquet rows keep the id column that {@code clean} wrote (so a document has one id from clean
   * to shards); other Parquet files get positional ids like every other input.
   */
  private static JavaRDD<Doc> readParquet(
      SparkSession spark, List<String> files, Map<String, String> keys, Options o) {
    Dataset<Row> df = spark.read().parquet(files.toArray(String[]::new));
    StructField field;
    try {
      field = df.schema().apply(o.textField());
    } catch (IllegalArgumentException e) {
      throw new UserError(
          "Parquet input has no column '"
              + o.textField()
              + "' (use --text-field); columns: "
              + String.join(", ", df.columns()));
    }
    if (!field.dataType().equals(DataTypes.StringType)) {
      throw new UserError(
          "Parquet column '"
              + o.textField()
              + "' is "
              + field.dataType().simpleString()
              + ", not a string");
    }
    String[] columns = df.columns();
    Dataset<Row> withPos =
        df.selectExpr(
            concat("_metadata.file_path AS __file", "_metadata.row_index AS __row", columns));
    String textField = o.textField();
    int idColumn = java.util.Arrays.asList(columns).indexOf("id");
    boolean ownIds =
        idColumn >= 0
            && df.schema().apply("id").dataType().equals(DataTypes.StringType)
            && !textField.equals("id");
    return withPos
        .toJavaRDD()
        .mapPartitions(
            rows ->
                new Iterator<Doc>() {
                  /** The last file's key: rows come file by file, and the key is a SHA-256. */
                  String lastFile;

                  String lastKey;

                  @Override
                  public boolean hasNext() {
                    return rows.hasNext();
                  }

                  @Override
                  public Doc next() {
                    Row row = rows.next();
                    String file = row.getString(0);
                    if (!file.equals(lastFile)) {
                      lastFile = file;
                      lastKey = keyOf(keys, file);
                    }
                    String own = ownIds ? row.getString(idColumn + 2) : null;
                    return parquetDoc(
                        row,
                        file,
                        own != null ? own : id(lastKey, row.getLong(1)),
                        columns,
                        textField,
                        o.content());
                  }
                });
  }

  private static Doc parquetDoc(
      Row row, String file, String id, String[] columns, String textField, Content content) {
    long index = row.getLong(1);
    Doc d = new Doc(id, file);
    for (int i = 0; i < columns.length; i++) {
      Object v = row.get(i + 2);
      if (columns[i].equals(textField)) {
        d.text = (String) v;
      } else if (v != null) {
        d.metadata.put(columns[i], v.toString());
      }
    }
    if (d.text == null) {
      return quarantined(
          id, file, 0, "missing_text_field", "null '" + textField + "' in row " + index);
    }
    long utf8Bytes = Utf8.lengthOrUnpaired(d.text);
    if (utf8Bytes < 0) {
      int bad = (int) (-1 - utf8Bytes);
      Doc q =
          quarantined(
              id,
              file,
              Utf8.length(d.text),
              "unpaired_surrogate",
              "at char " + bad + " in row " + index);
      q.text = d.text;
      return q;
    }
    d.replaceText(d.text, utf8Bytes);
    d.inputBytes = utf8Bytes;
    classify(d, content, d.metadata.getOrDefault("path", d.metadata.getOrDefault("source", file)));
    return d;
  }

  private static String[] concat(String a, String b, String[] rest) {
    String[] all = new String[rest.length + 2];
    all[0] = a;
    all[1] = b;
    for (int i = 0; i < rest.length; i++) {
      all[i + 2] = "`" + rest[i].replace("`", "``") + "`";
    }
    return all;
  }
}
