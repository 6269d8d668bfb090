package io.sparkgpt.tokenizer.dataset;

import java.io.IOException;

/**
 * A dataset the reader refuses: no manifest, an unknown format version, a manifest that disagrees
 * with itself or with the files (missing, truncated or longer shards, checksum mismatches). The
 * message is one line and names the folder and the file.
 */
public class InvalidDatasetException extends IOException {
  private static final long serialVersionUID = 1L;

  public InvalidDatasetException(String message) {
    super(message);
  }

  public InvalidDatasetException(String message, Throwable cause) {
    super(message, cause);
  }
}
