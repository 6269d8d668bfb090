package io.sparkgpt.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * The corpus as non-blank lines, split into training and held-back lines (every 10th line held
 * back).
 */
final class Lines {
  private static List<String> train, heldBack;

  private Lines() {}

  private static synchronized void load() {
    if (train != null) {
      return;
    }
    List<String> t = new ArrayList<>(), h = new ArrayList<>();
    int i = 0;
    for (String doc : Corpus.allDocuments()) {
      for (String line : doc.split("\r?\n")) {
        if (!line.isBlank()) {
          (i++ % 10 == 0 ? h : t).add(line);
        }
      }
    }
    train = t;
    heldBack = h;
  }

  static List<String> train() {
    load();
    return train;
  }

  static List<String> heldBack() {
    load();
    return heldBack;
  }

  /** Every k-th training line. */
  static List<String> trainSample(int k) {
    List<String> s = new ArrayList<>();
    List<String> all = train();
    for (int i = 0; i < all.size(); i += k) {
      s.add(all.get(i));
    }
    return s;
  }
}
