package io.sparkgpt.jobs.input;

import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.hadoop.io.compress.CompressionCodec;
import org.apache.hadoop.io.compress.CompressionInputStream;
import org.apache.hadoop.io.compress.CompressionOutputStream;
import org.apache.hadoop.io.compress.Compressor;
import org.apache.hadoop.io.compress.Decompressor;

/**
 * Hadoop codec for .zst files over zstd-jni (which Spark ships). Hadoop's own ZStandardCodec needs
 * the native libhadoop, which an embedded Spark does not have. Registered through
 * io.compression.codecs.
 */
public final class ZstdCodec implements CompressionCodec {
  @Override
  public CompressionOutputStream createOutputStream(OutputStream out) throws IOException {
    ZstdOutputStream z = new ZstdOutputStream(out);
    return new CompressionOutputStream(z) {
      @Override
      public void write(int b) throws IOException {
        z.write(b);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        z.write(b, off, len);
      }

      @Override
      public void finish() throws IOException {
        z.flush();
      }

      @Override
      public void resetState() {}
    };
  }

  @Override
  public CompressionOutputStream createOutputStream(OutputStream out, Compressor compressor)
      throws IOException {
    return createOutputStream(out);
  }

  @Override
  public Class<? extends Compressor> getCompressorType() {
    return null;
  }

  @Override
  public Compressor createCompressor() {
    return null;
  }

  @Override
  public CompressionInputStream createInputStream(InputStream in) throws IOException {
    ZstdInputStream z = new ZstdInputStream(in);
    return new CompressionInputStream(z) {
      @Override
      public int read() throws IOException {
        return z.read();
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        return z.read(b, off, len);
      }

      @Override
      public void resetState() {}
    };
  }

  @Override
  public CompressionInputStream createInputStream(InputStream in, Decompressor decompressor)
      throws IOException {
    return createInputStream(in);
  }

  @Override
  public Class<? extends Decompressor> getDecompressorType() {
    return null;
  }

  @Override
  public Decompressor createDecompressor() {
    return null;
  }

  @Override
  public String getDefaultExtension() {
    return ".zst";
  }

  /**
   * Adds this codec to a Hadoop configuration's codec list (after the defaults, so it wins for
   * .zst).
   */
  public static void register(org.apache.hadoop.conf.Configuration conf) {
    String codecs = conf.get("io.compression.codecs", "");
    if (!codecs.contains(ZstdCodec.class.getName())) {
      conf.set(
          "io.compression.codecs",
          (codecs.isEmpty() ? "" : codecs + ",") + ZstdCodec.class.getName());
    }
  }
}
