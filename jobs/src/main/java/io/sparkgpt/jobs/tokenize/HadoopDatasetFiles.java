package io.sparkgpt.jobs.tokenize;

import io.sparkgpt.tokenizer.dataset.DatasetFiles;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A dataset folder on any Hadoop file system (local, HDFS, S3), usable on executors: the Hadoop
 * configuration travels as bytes (it is Writable, not Serializable) and the file system is opened
 * on first use.
 */
final class HadoopDatasetFiles implements DatasetFiles, Serializable {
  private final String dir;
  private final byte[] conf;
  private transient FileSystem fs;

  HadoopDatasetFiles(String dir, Configuration conf) {
    this(dir, serialize(conf));
  }

  private HadoopDatasetFiles(String dir, byte[] conf) {
    this.dir = dir;
    this.conf = conf;
  }

  /** The folder {@code name} inside this one. */
  HadoopDatasetFiles sub(String name) {
    return new HadoopDatasetFiles(new Path(dir, name).toString(), conf);
  }

  /** Whether the folder exists (it is created on first use). */
  boolean exists() throws IOException {
    return fs != null || new Path(dir).getFileSystem(configuration()).exists(new Path(dir));
  }

  private static byte[] serialize(Configuration conf) {
    try {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      try (DataOutputStream out = new DataOutputStream(b)) {
        conf.write(out);
      }
      return b.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private Configuration configuration() throws IOException {
    Configuration c = new Configuration(false);
    c.readFields(new DataInputStream(new ByteArrayInputStream(conf)));
    return c;
  }

  private FileSystem fs() throws IOException {
    if (fs == null) {
      fs = new Path(dir).getFileSystem(configuration());
      // no .crc side files: shards carry their own sha256. And none looked for: reading through
      // Hadoop's checksum
      // layer opens a new stream for every positioned read.
      fs.setWriteChecksum(false);
      fs.setVerifyChecksum(false);
      fs.mkdirs(new Path(dir));
    }
    return fs;
  }

  private Path p(String name) {
    return new Path(dir, name);
  }

  @Override
  public OutputStream create(String name) throws IOException {
    return fs().create(p(name), true);
  }

  @Override
  public InputStream open(String name) throws IOException {
    return fs().open(p(name));
  }

  @Override
  public long size(String name) throws IOException {
    try {
      return fs().getFileStatus(p(name)).getLen();
    } catch (FileNotFoundException e) {
      return -1;
    }
  }

  @Override
  public void rename(String from, String to) throws IOException {
    FileSystem f = fs();
    if (f.exists(p(to))) {
      f.delete(p(to), false);
    }
    if (!f.rename(p(from), p(to))) {
      throw new IOException("cannot rename " + p(from) + " to " + p(to));
    }
  }

  @Override
  public void delete(String name) throws IOException {
    fs().delete(p(name), false);
  }

  @Override
  public List<String> list() throws IOException {
    List<String> names = new ArrayList<>();
    for (FileStatus s : fs().listStatus(new Path(dir))) {
      if (s.isFile()) {
        names.add(s.getPath().getName());
      }
    }
    return names;
  }

  @Override
  public String toString() {
    return dir;
  }
}
