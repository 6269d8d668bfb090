/**
 * The GPT: {@link io.sparkgpt.model.GptConfig} (shape and presets), {@link io.sparkgpt.model.Gpt}
 * (the model as explicit forward and backward passes: language model, reward and PPO heads,
 * dropout, KV-cache decoding), {@link io.sparkgpt.model.GptModel} (parameter names, shapes,
 * initialisation), {@link io.sparkgpt.model.AdamW} and {@link io.sparkgpt.model.LrSchedule} (the
 * optimiser), {@link io.sparkgpt.model.StepRunner} ("run K steps": the body of every trainer),
 * {@link io.sparkgpt.model.Trainer} (single-process loop on a token dataset: metrics.jsonl,
 * loss.png, checkpoints, resume), {@link io.sparkgpt.model.Checkpoint} and {@link
 * io.sparkgpt.model.Safetensors} (checkpoint folders), {@link io.sparkgpt.model.Decoder} and {@link
 * io.sparkgpt.model.Generator} (KV-cache inference and sampling). No Spark. See the module's
 * README.md.
 */
package io.sparkgpt.model;
