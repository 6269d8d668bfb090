package io.sparkgpt.tokenizer.dataset;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** The stored width of a token id; always little-endian. */
public enum Dtype {
  UINT16("uint16", 2, 8),
  /** Native format only: ids of vocabularies larger than 65536. */
  UINT32("uint32", 4, -1),
  /** Megatron format only (it has no uint32): ids of vocabularies larger than 65536. */
  INT32("int32", 4, 4);

  private final String id;
  private final int bytes;
  private final int megatronCode;

  Dtype(String id, int bytes, int megatronCode) {
    this.id = id;
    this.bytes = bytes;
    this.megatronCode = megatronCode;
  }

  @JsonValue
  public String id() {
    return id;
  }

  /** Bytes per token. */
  public int bytes() {
    return bytes;
  }

  /**
   * The code in Megatron-LM's {@code DType} table (uint16 = 8, int32 = 4), or -1 if Megatron has
   * none.
   */
  public int megatronCode() {
    return megatronCode;
  }

  /**
   * The narrowest type that holds every id below {@code vocabSize}: uint16 up to 65536 ids, else
   * uint32 (native) or int32 (Megatron).
   */
  public static Dtype forVocab(Format format, int vocabSize) {
    if (vocabSize <= 0) {
      throw new IllegalArgumentException("vocabulary size must be positive, got " + vocabSize);
    }
    if (vocabSize <= 1 << 16) {
      return UINT16;
    }
    return format == Format.MEGATRON ? INT32 : UINT32;
  }

  @JsonCreator
  public static Dtype of(String id) {
    for (Dtype d : values()) {
      if (d.id.equals(id)) {
        return d;
      }
    }
    throw new IllegalArgumentException(
        "unknown dtype '" + id + "': expected uint16, uint32 or int32");
  }
}
