package io.sparkgpt.tokenizer.dataset;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * How shards are stored. Both keep every document followed by the end-of-text id, in one flat token
 * file.
 */
public enum Format {
  /** One flat little-endian token file per shard ({@code train-00000.bin}); nothing else. */
  NATIVE("native"),
  /**
   * Megatron-LM's {@code MMapIndexedDataset}: the same flat {@code .bin} plus an {@code .idx}
   * (magic {@code MMIDIDX\0\0}, version 1) in which every document is one sequence. Each shard is a
   * Megatron data prefix.
   */
  MEGATRON("megatron");

  private final String id;

  Format(String id) {
    this.id = id;
  }

  @JsonValue
  public String id() {
    return id;
  }

  /**
   * @throws IllegalArgumentException for anything but {@code native} or {@code megatron}
   */
  @JsonCreator
  public static Format of(String id) {
    for (Format f : values()) {
      if (f.id.equals(id)) {
        return f;
      }
    }
    throw new IllegalArgumentException(
        "unknown dataset format '" + id + "': expected native or megatron");
  }
}
