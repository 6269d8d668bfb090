/**
 * Tokenizers for sparkgpt: byte-level BPE as GPT-2 / tiktoken define it, HuggingFace {@code tokenizer.json},
 * tiktoken rank files, SentencePiece models, and a BPE trainer. Plain Java; no Spark.
 *
 * <ul>
 *   <li>{@link io.sparkgpt.tokenizer.Tokenizer}: the one interface; {@link io.sparkgpt.tokenizer.Tokenizers#load}
 *       gives one from {@code r50k_base}, {@code cl100k_base} or a {@code .json} / {@code .model} /
 *       {@code .tiktoken} path.
 *   <li>{@link io.sparkgpt.tokenizer.ByteLevelBpe}: the encoder (thread-safe, allocation-free per piece);
 *       {@link io.sparkgpt.tokenizer.SplitPattern}: the GPT-2 and cl100k pre-tokenizers.
 *   <li>{@link io.sparkgpt.tokenizer.IntArray}: the reusable output buffer of bulk encoding;
 *       {@link io.sparkgpt.tokenizer.TokenDecoder}: streaming decode that holds back cut UTF-8 characters.
 *   <li>{@link io.sparkgpt.tokenizer.PreTokenCounter} then {@link io.sparkgpt.tokenizer.BpeTrainer}: training;
 *       {@link io.sparkgpt.tokenizer.HfTokenizerJson#save} writes the result.
 * </ul>
 *
 * <p>Special tokens are produced only for the texts a caller passes in {@code allowedSpecial}; everywhere else
 * their text is ordinary text. Unpaired surrogates in input are encoded as U+FFFD (tiktoken's rule), so
 * {@code decode(encode(s)).equals(s)} holds for every string without unpaired surrogates.
 */
package io.sparkgpt.tokenizer;
