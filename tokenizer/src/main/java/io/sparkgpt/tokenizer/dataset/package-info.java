/**
 * Token datasets: what {@code sparkgpt tokenize} writes and the trainer reads. Plain Java; no Spark
 * or Hadoop.
 *
 * <h2>Layout of a dataset folder</h2>
 *
 * <ul>
 *   <li>{@code manifest.json} ({@link io.sparkgpt.tokenizer.dataset.Manifest}), written last: a
 *       folder without it is unfinished. Fields: {@code format_version} (1), {@code format} ({@code
 *       native} | {@code megatron}), {@code dtype} ({@code uint16} when the vocabulary has at most
 *       65536 ids, else {@code uint32}, or {@code int32} for Megatron), {@code vocab_size}, {@code
 *       eot_id}, {@code seq_len}, {@code sample_tokens} (= seq_len + 1), {@code job_key}, {@code
 *       tokenizer} {name, file, sha256}, {@code splits} {train, val: {documents, empty_documents,
 *       rejected_documents, tokens, samples, unsampled_tokens, text_bytes, shards: [{file,
 *       documents, ..., tokens, samples, unsampled_tokens, bytes, sha256, [idx_file, idx_bytes,
 *       idx_sha256], text_bytes, seconds}]}}, {@code stats}, {@code parameters} (the job's flags)
 *       and, if the job counted them, {@code sources} {name: {documents, tokens, text_bytes,
 *       rejected_documents}}.
 *   <li>{@code tokenizer.json} (or {@code tokenizer.model}): the tokenizer, loadable with {@code
 *       Tokenizers.load}.
 *   <li>per shard {@code <split>-<5 digits>.bin} (or {@code <split>-<task>-<part>.bin}): the
 *       shard's documents, each as its token ids followed by {@code eot_id}, one flat little-endian
 *       array of {@code dtype}; for Megatron also {@code .idx} ({@link
 *       io.sparkgpt.tokenizer.dataset.MegatronIndex}), so {@code <dir>/train-00000} is a Megatron
 *       data prefix; and {@code .shard.json}, the shard's own record (its layout and manifest
 *       entry), used to resume.
 * </ul>
 *
 * <h2>Samples</h2>
 *
 * A sample is {@code seq_len + 1} consecutive tokens: inputs are its first {@code seq_len}, targets
 * its last {@code seq_len}. Samples do not overlap: sample {@code j} of a shard is tokens {@code
 * [j*(seq_len+1), (j+1)*(seq_len+1))} of that shard, so a shard has {@code floor(tokens /
 * (seq_len+1))} samples and its last {@code tokens mod (seq_len+1)} tokens are stored (documents
 * are never cut in the file) but in no sample ({@code unsampled_tokens}; fewer than seq_len + 1 per
 * shard). A split's samples are its shards' samples in shard order. Samples cross document
 * boundaries; the end-of-text token marks them. Megatron builds its own samples from the {@code
 * .bin}/{@code .idx}; the numbers in the manifest are this reader's view.
 *
 * <h2>Splits, order, shards</h2>
 *
 * {@link io.sparkgpt.tokenizer.dataset.DocumentSplit} decides from a document's id alone whether it
 * is in {@code val} or {@code train}. Two orders: a job whose tasks each write their own input
 * split with a {@link io.sparkgpt.tokenizer.dataset.TaskWriter} (shards {@code
 * <split>-<task>-<part>}, documents in input order, no exchange between tasks; the reader's
 * per-epoch permutation shuffles samples across all shards), or a global shuffle: the id also gives
 * a shuffle key and (from the key) a shard {@code <split>-<5 digits>}, inside which documents are
 * in unsigned key order. Either way the content of every shard is a function of the documents and
 * the parameters (for task shards: including the input splits), never of which tasks ran when,
 * which is what makes reruns safe.
 *
 * <h2>Writing from Spark executors</h2>
 *
 * Implement {@link io.sparkgpt.tokenizer.dataset.DatasetFiles} over a Hadoop {@code FileSystem} and
 * output folder:
 *
 * <pre>{@code
 * final class HadoopFiles implements DatasetFiles, Serializable {   // or build it inside mapPartitions
 *     // fs = dir.getFileSystem(conf); p(name) = new Path(dir, name)
 *     public OutputStream create(String n) throws IOException { return fs.create(p(n), true); }
 *     public InputStream open(String n) throws IOException { return fs.open(p(n)); }
 *     public long size(String n) throws IOException {
 *         try { return fs.getFileStatus(p(n)).getLen(); } catch (FileNotFoundException e) { return -1; } }
 *     public void rename(String from, String to) throws IOException {
 *         if (fs.exists(p(to))) fs.delete(p(to), false);
 *         if (!fs.rename(p(from), p(to))) throw new IOException("cannot rename " + from + " to " + to); }
 *     public void delete(String n) throws IOException { fs.delete(p(n), false); }
 *     public List<String> list() throws IOException { ... fs.listStatus(dir) names ... }
 * }
 * }</pre>
 *
 * Driver: {@code DatasetWriter.begin(files, layout)} (returns the manifest if already done), then
 * {@code DatasetWriter.writeTokenizer} to get the tokenizer's sha256 for the {@link
 * io.sparkgpt.tokenizer.dataset.Layout}. Executors, one task per (split, shard), documents sorted
 * by shuffle key:
 *
 * <pre>{@code
 * if (ShardWriter.finished(files, split, shard, layout).isPresent()) return;      // done by an earlier run
 * try (ShardWriter w = ShardWriter.create(files, split, shard, layout)) {
 *     for (String text : texts) w.addText(tokenizer, text); // or addDocument(ids, utf8Bytes)
 *     w.commit();                                         // rename .bin (.idx), then .shard.json
 * }                                                       // close without commit deletes the temp files
 * }</pre>
 *
 * Driver, after all tasks: {@code DatasetWriter.finish(files, layout, tokenizerInfo,
 * Map.of("train", n, "val", m), seconds, flags)} writes {@code manifest.json} and returns it; print
 * {@code manifest.summary()}.
 */
package io.sparkgpt.tokenizer.dataset;
