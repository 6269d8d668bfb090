package io.sparkgpt.jobs.clean;

import java.util.function.IntConsumer;
import org.apache.spark.HashPartitioner;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * Connected components of an undirected graph on Spark by min-label propagation: every node starts
 * with its own id as label and takes the smallest label among its neighbours until no label
 * changes. The number of rounds is the largest component diameter plus one; near-duplicate graphs
 * (stars around LSH buckets) are shallow, so this takes a handful of rounds.
 */
public final class ConnectedComponents {
  private ConnectedComponents() {}

  /**
   * @return node -> component label (the smallest node id in its component)
   */
  public static JavaPairRDD<String, String> of(
      JavaPairRDD<String, String> edges, int partitions, IntConsumer onRound) {
    HashPartitioner p = new HashPartitioner(partitions);
    JavaPairRDD<String, String> adjacency =
        edges
            .flatMapToPair(e -> java.util.List.of(e, e.swap()).iterator())
            .distinct(partitions)
            .partitionBy(p)
            .persist(StorageLevel.MEMORY_AND_DISK());
    JavaPairRDD<String, String> labels =
        adjacency
            .keys()
            .distinct(partitions)
            .mapToPair(n -> new Tuple2<>(n, n))
            .partitionBy(p)
            .persist(StorageLevel.MEMORY_AND_DISK());
    for (int round = 1; ; round++) {
      onRound.accept(round);
      JavaPairRDD<String, String> messages =
          adjacency
              .join(labels)
              .mapToPair(t -> new Tuple2<>(t._2._1, t._2._2)); // neighbour <- my label
      JavaPairRDD<String, String> next =
          labels
              .union(messages)
              .reduceByKey(p, (a, b) -> a.compareTo(b) <= 0 ? a : b)
              .persist(StorageLevel.MEMORY_AND_DISK());
      long changed = next.join(labels).filter(t -> !t._2._1.equals(t._2._2)).count();
      labels.unpersist(false);
      labels = next;
      if (changed == 0) {
        adjacency.unpersist(false);
        return labels;
      }
    }
  }
}
