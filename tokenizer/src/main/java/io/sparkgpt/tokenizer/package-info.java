/**
 * Tokenizers for sparkgpt: byte-level BPE as GPT-2 / tiktoken define it, HuggingFace {@code
 * tokenizer.json}, tiktoken rank files, SentencePiece models, and a BPE trainer. Plain Java; no
 * Spark.
 *
 * <p>The public surface is small; everything else is package-private (as in jtokkit's {@code api}
 * package):
 *
 * <ul>
 *   <li>{@link io.sparkgpt.tokenizer.Tokenizer}: the one interface; {@link
 *       io.sparkgpt.tokenizer.Tokenizers} gives one from {@code r50k_base}, {@code cl100k_base}, a
 *       {@code .json} / {@code .model} / {@code .tiktoken} path or such a file's bytes, or a rank
 *       table, and writes a byte-level BPE as {@code tokenizer.json}.
 *   <li>{@link io.sparkgpt.tokenizer.SplitPattern}: the GPT-2 and cl100k pre-tokenizers.
 *   <li>{@link io.sparkgpt.tokenizer.IntArray}: the reusable output buffer of bulk encoding; {@link
 *       io.sparkgpt.tokenizer.TokenDecoder}: streaming decode that holds back cut UTF-8 characters.
 *   <li>{@link io.sparkgpt.tokenizer.PreTokenCounter} then {@link
 *       io.sparkgpt.tokenizer.BpeTrainer}: training; {@link
 *       io.sparkgpt.tokenizer.Tokenizers#saveJson} writes the result.
 * </ul>
 *
 * Behind them: {@code ByteLevelBpe} (the encoder: thread-safe, allocation-free per piece), {@code
 * HfTokenizerJson}, {@code TiktokenFile} and {@code SentencePieceTokenizer} (JNI).
 *
 * <p>Special tokens are produced only for the texts a caller passes in {@code allowedSpecial};
 * everywhere else their text is ordinary text. Unpaired surrogates in input are encoded as U+FFFD
 * (tiktoken's rule), so {@code decode(encode(s)).equals(s)} holds for every string without unpaired
 * surrogates.
 */
package io.sparkgpt.tokenizer;
