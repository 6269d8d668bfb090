package io.sparkgpt.jobs.clean;

import io.sparkgpt.jobs.input.Doc;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Iterator;
import org.apache.spark.Partitioner;
import org.apache.spark.api.java.JavaRDD;
import scala.Tuple2;

/**
 * Exact deduplication: documents whose normalised text is identical (same SHA-256) are sorted
 * together and all but the one with the smallest id are rejected. Sorting instead of grouping keeps
 * memory flat even when one text occurs millions of times.
 */
public final class ExactDedup {
  private ExactDedup() {}

  public static JavaRDD<Doc> apply(JavaRDD<Doc> docs, int partitions) {
    int step = Steps.index(Steps.EXACT_DEDUP);
    JavaRDD<Doc> notKept = docs.filter(d -> !d.kept());
    JavaRDD<Doc> deduped =
        docs.filter(Doc::kept)
            .mapToPair(d -> new Tuple2<>(TextKey.of(d), d))
            .repartitionAndSortWithinPartitions(new ByTextHash(partitions))
            .mapPartitions(
                it ->
                    new Iterator<Doc>() {
                      long h1;
                      long h2;
                      String survivor;

                      @Override
                      public boolean hasNext() {
                        return it.hasNext();
                      }

                      @Override
                      public Doc next() {
                        Tuple2<TextKey, Doc> t = it.next();
                        TextKey k = t._1;
                        Doc d = t._2;
                        if (survivor != null && k.h1 == h1 && k.h2 == h2) {
                          d.reject(step, "exact_duplicate", "same text as " + survivor);
                        } else {
                          h1 = k.h1;
                          h2 = k.h2;
                          survivor = d.id();
                        }
                        return d;
                      }
                    });
    return deduped.union(notKept);
  }

  /**
   * 128 bits of SHA-256 of the text, then the document id: equal texts sort together, smallest id
   * first.
   */
  static final class TextKey implements Comparable<TextKey>, Serializable {
    final long h1;
    final long h2;
    final String id;

    TextKey(long h1, long h2, String id) {
      this.h1 = h1;
      this.h2 = h2;
      this.id = id;
    }

    static TextKey of(Doc d) {
      try {
        byte[] h =
            MessageDigest.getInstance("SHA-256").digest(d.text().getBytes(StandardCharsets.UTF_8));
        ByteBuffer b = ByteBuffer.wrap(h);
        return new TextKey(b.getLong(), b.getLong(), d.id());
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public int compareTo(TextKey o) {
      int c = Long.compare(h1, o.h1);
      if (c == 0) {
        c = Long.compare(h2, o.h2);
      }
      return c != 0 ? c : id.compareTo(o.id);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof TextKey k && k.h1 == h1 && k.h2 == h2 && k.id.equals(id);
    }

    @Override
    public int hashCode() {
      return Long.hashCode(h1) * 31 + id.hashCode();
    }
  }

  /** Partitions by the text hash only, so that all copies of a text meet in one partition. */
  static final class ByTextHash extends Partitioner {
    private final int n;

    ByTextHash(int n) {
      this.n = n;
    }

    @Override
    public int numPartitions() {
      return n;
    }

    @Override
    public int getPartition(Object key) {
      return (int) Math.floorMod(((TextKey) key).h1, (long) n);
    }
  }
}
