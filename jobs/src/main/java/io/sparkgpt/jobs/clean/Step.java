package io.sparkgpt.jobs.clean;

import io.sparkgpt.jobs.input.Doc;
import java.io.Serializable;

/**
 * One document-level step of the cleaning pipeline: it may rewrite the text, or say why the
 * document goes.
 */
public interface Step extends Serializable {
  /** One of {@link Steps#NAMES}. */
  String name();

  /**
   * Whether the step looks at this document at all (prose rules skip code and the other way round).
   */
  default boolean appliesTo(Doc doc) {
    return true;
  }

  /** Returns null to keep the document (possibly with new text), or why it is rejected. */
  Rejection apply(Doc doc);

  /** A rule name, stable for counting in the report, and a detail with the measured value. */
  record Rejection(String rule, String detail) {}
}
