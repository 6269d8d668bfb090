package io.sparkgpt.cluster;

/**
 * The part of a {@link TrainingData} description that every kind of training files has: row length,
 * vocabulary, the tokenizer checkpoints copy, and the sizes of the two splits, measured on the
 * driver.
 */
abstract class FileTrainingData implements TrainingData {
  private static final long serialVersionUID = 1L;

  private final int seqLen;
  private final int vocabSize;
  private final String tokenizerFile;
  private final int trainSize;
  private final int valSize;

  FileTrainingData(int seqLen, int vocabSize, String tokenizerFile, int trainSize, int valSize) {
    this.seqLen = seqLen;
    this.vocabSize = vocabSize;
    this.tokenizerFile = tokenizerFile;
    this.trainSize = trainSize;
    this.valSize = valSize;
  }

  @Override
  public final int seqLen() {
    return seqLen;
  }

  @Override
  public final int vocabSize() {
    return vocabSize;
  }

  @Override
  public final String tokenizerFile() {
    return tokenizerFile;
  }

  @Override
  public final int trainSize() {
    return trainSize;
  }

  @Override
  public final int valSize() {
    return valSize;
  }
}
