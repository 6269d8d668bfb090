#!/usr/bin/env python3
"""PyTorch reference of sparkgpt's GPT (the correctness anchor of the model module).

Same architecture as io.sparkgpt.model.Gpt, written directly against HuggingFace GPT2LMHeadModel's
state-dict names and layouts (Conv1D weights are [in, out]: y = x @ W + b), so it also checks the
checkpoint naming. Needs only torch and numpy (Debian: python3-torch, python3-numpy); safetensors files
are read and written by hand.

  parity: gpt_reference.py parity WORK_DIR
      reads  WORK_DIR/{config.json, model.safetensors, batches.safetensors, train.json}
      writes WORK_DIR/reference.safetensors with
        logits      [B, T, V]   logits of step 0, micro-batch 0, at the initial weights
        loss0       [1]         loss of step 0 (all micro-batches, mask-weighted mean)
        grad.<p>                gradient of every parameter for step 0 (before clipping)
        losses      [S]         loss of each of the S AdamW steps (before its update)
        grad_norms  [S]         global gradient norm of each step (before clipping)
        final.<p>               parameters after S steps
  heads:  gpt_reference.py heads WORK_DIR
      reads  WORK_DIR/{config.json, model.safetensors, heads.safetensors (score.*, v_head.*, tokens [B, T+1],
             read_at, mask, old_logp, advantages, returns, old_values [B, T]), heads.json (clip_range, value_clip,
             value_coef, entropy_coef)}
      writes WORK_DIR/heads_reference.safetensors with, for the pairwise reward loss (rows [0, B/2) chosen,
        [B/2, B) rejected, reward read where read_at is 1) and the PPO loss (weights mask / sum(mask)):
        reward.rewards [B], reward.loss [1], reward.grad.<p>, ppo.loss [1], ppo.grad.<p> (backbone and the head)
  dpo:    gpt_reference.py dpo WORK_DIR
      reads  WORK_DIR/{config.json, model.safetensors (the policy), reference/model.safetensors (the frozen
             reference), dpo.safetensors (tokens [B, T+1], mask [B, T]: 1 on the response tokens), dpo.json (beta)}
      writes WORK_DIR/dpo_reference.safetensors with, rows [0, B/2) chosen and [B/2, B) rejected,
        policy_logps [B], reference_logps [B] (sum of mask * log p(target)), loss [1] (mean over the pairs of
        -log sigmoid(beta ((pi_c - ref_c) - (pi_r - ref_r)))), grad.<p> (the policy's; the reference gets none)
  bench:  gpt_reference.py bench CONFIG_JSON BATCH SEQ STEPS THREADS [--profile]
      prints one JSON line: {"ms_per_step": ..., "tokens_per_s": ..., "gemm_gflops": ..., "peak_rss_mb": ...};
      with --profile also "profile_ms": one step's torch.autograd.profiler self CPU time per kernel group
  generate: gpt_reference.py generate WORK_DIR
      reads  WORK_DIR/{config.json, model.safetensors, generate.json ({"prompt": [ids], "max_new_tokens": N,
             "threads": n})}; greedy decoding with a key/value cache; prints one JSON line
             {"ids": [generated ids], "ms_per_token": median time of a cached step, "peak_rss_mb": ...}
  gemm:   gpt_reference.py gemm SHAPES_JSON THREADS
      SHAPES_JSON: [[M, K, N, transA, transB], ...]; prints {"gflops": [...]} (median of 1 s of repeats each)
"""
import json
import math
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F32": (np.float32, torch.float32), "F64": (np.float64, torch.float64),
          "I32": (np.int32, torch.int32), "I64": (np.int64, torch.int64)}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        npt, _ = DTYPES[e["dtype"]]
        b, end = e["data_offsets"]
        arr = np.frombuffer(data[base + b:base + end], dtype=np.dtype(npt).newbyteorder("<")).reshape(e["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def write_safetensors(path, tensors):
    header = {}
    offset = 0
    blobs = []
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        a = t.numpy()
        code = {np.dtype(np.float32): "F32", np.dtype(np.float64): "F64",
                np.dtype(np.int32): "I32", np.dtype(np.int64): "I64"}[a.dtype]
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": code, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    h = json.dumps(header).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def param_names(c):
    names = ["transformer.wte.weight", "transformer.wpe.weight"]
    for i in range(c["n_layer"]):
        p = f"transformer.h.{i}."
        for n in ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
                  "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
                  "mlp.c_proj.weight", "mlp.c_proj.bias"]:
            if n.endswith(".bias") and not c["bias"]:
                continue
            names.append(p + n)
    names.append("transformer.ln_f.weight")
    if c["bias"]:
        names.append("transformer.ln_f.bias")
    if not c["tied"]:
        names.append("lm_head.weight")
    return names


def shape_of(n, c):
    d, m, V, T = c["d_model"], c["mlp_ratio"] * c["d_model"], c["vocab_size"], c["block_size"]
    if n in ("transformer.wte.weight", "lm_head.weight"):
        return (V, d)
    if n == "transformer.wpe.weight":
        return (T, d)
    for suffix, shape in (("c_attn.weight", (d, 3 * d)), ("c_attn.bias", (3 * d,)), ("attn.c_proj.weight", (d, d)),
                          ("c_fc.weight", (d, m)), ("c_fc.bias", (m,)), ("mlp.c_proj.weight", (m, d))):
        if n.endswith(suffix):
            return shape
    return (d,)


def decays(name):
    """Weight decay only on matrices used in products (sparkgpt's rule)."""
    return name == "lm_head.weight" or (name.endswith(".weight") and any(
        k in name for k in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")))


class GPT(torch.nn.Module):
    def __init__(self, c, tensors):
        super().__init__()
        self.c = c
        self.names = param_names(c)
        self.p = {}
        for n in self.names:
            prm = torch.nn.Parameter(tensors[n].clone())
            self.register_parameter(n.replace(".", "__"), prm)
            self.p[n] = prm

    def get(self, n):
        return self.p.get(n)

    def forward(self, idx, cache=None):
        """Logits of idx [B, T]; with cache (a list, filled per layer with (k, v)) the positions continue the cache."""
        head = self.p["transformer.wte.weight"] if self.c["tied"] else self.p["lm_head.weight"]
        return self.hidden(idx, cache) @ head.t()

    def hidden(self, idx, cache=None):
        """Final hidden states [B, T, d] (after ln_f): the input of the LM head and of the scalar heads."""
        c = self.c
        B, T = idx.shape
        d, H = c["d_model"], c["n_head"]
        hs = d // H
        p0 = cache[0][0].shape[2] if cache else 0
        x = self.p["transformer.wte.weight"][idx] + self.p["transformer.wpe.weight"][p0:p0 + T]
        causal = torch.ones(T, p0 + T, dtype=torch.bool).tril(diagonal=p0)
        for i in range(c["n_layer"]):
            pre = f"transformer.h.{i}."
            a = F.layer_norm(x, (d,), self.get(pre + "ln_1.weight"), self.get(pre + "ln_1.bias"), 1e-5)
            qkv = a @ self.p[pre + "attn.c_attn.weight"]
            if c["bias"]:
                qkv = qkv + self.p[pre + "attn.c_attn.bias"]
            q, k, v = qkv.split(d, dim=2)
            q = q.view(B, T, H, hs).transpose(1, 2)
            k = k.view(B, T, H, hs).transpose(1, 2)
            v = v.view(B, T, H, hs).transpose(1, 2)
            if cache is not None:
                if len(cache) > i:
                    k = torch.cat([cache[i][0], k], dim=2)
                    v = torch.cat([cache[i][1], v], dim=2)
                    cache[i] = (k, v)
                else:
                    cache.append((k, v))
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
            att = att.masked_fill(~causal, float("-inf"))
            att = F.softmax(att, dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(B, T, d)
            y = y @ self.p[pre + "attn.c_proj.weight"]
            if c["bias"]:
                y = y + self.p[pre + "attn.c_proj.bias"]
            x = x + y
            m = F.layer_norm(x, (d,), self.get(pre + "ln_2.weight"), self.get(pre + "ln_2.bias"), 1e-5)
            m = m @ self.p[pre + "mlp.c_fc.weight"]
            if c["bias"]:
                m = m + self.p[pre + "mlp.c_fc.bias"]
            m = F.gelu(m, approximate="tanh")
            m = m @ self.p[pre + "mlp.c_proj.weight"]
            if c["bias"]:
                m = m + self.p[pre + "mlp.c_proj.bias"]
            x = x + m
        return F.layer_norm(x, (d,), self.get("transformer.ln_f.weight"), self.get("transformer.ln_f.bias"), 1e-5)

    def loss(self, tokens, weights):
        """sum over tokens of weights * nll; weights = mask / (unmasked tokens of the whole step)."""
        logits = self.forward(tokens[:, :-1])
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1).long(), reduction="none")
        return (nll * weights.reshape(-1)).sum(), logits


def lr_at(step, t):
    warm, decay, mx, mn = t["warmup_steps"], t["decay_steps"], t["max_lr"], t["min_lr"]
    if step < warm:
        return mx * (step + 1) / warm
    if step > decay or decay == warm:
        return mn if step > decay else mx
    r = (step - warm) / (decay - warm)
    return mn + 0.5 * (1 + math.cos(math.pi * r)) * (mx - mn)


def make_optimizer(model, t):
    dec = [model.p[n] for n in model.names if decays(n)]
    nodec = [model.p[n] for n in model.names if not decays(n)]
    return torch.optim.AdamW([{"params": dec, "weight_decay": t["weight_decay"]},
                              {"params": nodec, "weight_decay": 0.0}],
                             lr=t["max_lr"], betas=(t["beta1"], t["beta2"]), eps=t["eps"])


def parity(work):
    cfg = json.load(open(f"{work}/config.json"))["sparkgpt"]
    t = json.load(open(f"{work}/train.json"))
    torch.set_num_threads(int(t.get("threads", 1)))
    tensors = read_safetensors(f"{work}/model.safetensors")
    batches = read_safetensors(f"{work}/batches.safetensors")
    tokens = batches["tokens"].long()      # [S, M, B, T+1]
    mask = batches["mask"].float()         # [S, M, B, T]
    model = GPT(cfg, tensors)
    opt = make_optimizer(model, t)
    out = {}
    S, M = tokens.shape[0], tokens.shape[1]
    losses, norms = [], []
    for s in range(S):
        count = mask[s].sum()
        opt.zero_grad(set_to_none=True)
        total = 0.0
        for j in range(M):
            loss, logits = model.loss(tokens[s, j], mask[s, j] / count)
            loss.backward()
            total += loss.item()
            if s == 0 and j == 0:
                out["logits"] = logits.detach()
        if s == 0:
            out["loss0"] = torch.tensor([total], dtype=torch.float64)
            for n in model.names:
                out["grad." + n] = model.p[n].grad.detach().clone()
        norm = torch.nn.utils.clip_grad_norm_([model.p[n] for n in model.names], t["grad_clip"]) if t["grad_clip"] > 0 \
            else torch.sqrt(sum((model.p[n].grad ** 2).sum() for n in model.names))
        for g in opt.param_groups:
            g["lr"] = lr_at(s, t)
        opt.step()
        losses.append(total)
        norms.append(float(norm))
    out["losses"] = torch.tensor(losses, dtype=torch.float64)
    out["grad_norms"] = torch.tensor(norms, dtype=torch.float64)
    for n in model.names:
        out["final." + n] = model.p[n].detach()
    write_safetensors(f"{work}/reference.safetensors", out)


def heads(work):
    cfg = json.load(open(f"{work}/config.json"))["sparkgpt"]
    h = json.load(open(f"{work}/heads.json"))
    torch.set_num_threads(1)
    data = read_safetensors(f"{work}/heads.safetensors")
    out = {}
    for objective, prefix in (("reward", "score"), ("ppo", "v_head")):
        model = GPT(cfg, read_safetensors(f"{work}/model.safetensors"))
        hw = torch.nn.Parameter(data[prefix + ".weight"].clone())
        hb = torch.nn.Parameter(data[prefix + ".bias"].clone())
        tokens = data["tokens"].long()
        x = model.hidden(tokens[:, :-1])
        score = (x @ hw + hb)[..., 0]                                     # [B, T]
        if objective == "reward":
            r = (score * data["read_at"]).sum(1)
            p = r.shape[0] // 2
            loss = F.softplus(-(r[:p] - r[p:])).sum() / p
            out["reward.rewards"] = r.detach()
        else:
            e, c = h["clip_range"], h["value_clip"]
            logprobs = F.log_softmax(model.forward(tokens[:, :-1]), dim=-1)
            logp = logprobs.gather(-1, tokens[:, 1:, None])[..., 0]
            entropy = -(logprobs.exp() * logprobs).sum(-1)
            ratio = torch.exp(logp - data["old_logp"])
            adv = data["advantages"]
            policy = torch.maximum(-adv * ratio, -adv * ratio.clamp(1 - e, 1 + e))
            old_v, ret = data["old_values"], data["returns"]
            v_clip = old_v + (score - old_v).clamp(-c, c)
            value = 0.5 * torch.maximum((score - ret) ** 2, (v_clip - ret) ** 2)
            w = data["mask"] / data["mask"].sum()
            loss = ((policy + h["value_coef"] * value - h["entropy_coef"] * entropy) * w).sum()
        loss.backward()
        out[objective + ".loss"] = torch.tensor([loss.item()], dtype=torch.float64)
        for n in model.names:
            g = model.p[n].grad
            out[f"{objective}.grad.{n}"] = torch.zeros_like(model.p[n]) if g is None else g.detach().clone()
        out[f"{objective}.grad.{prefix}.weight"] = hw.grad.detach().clone()
        out[f"{objective}.grad.{prefix}.bias"] = hb.grad.detach().clone()
    write_safetensors(f"{work}/heads_reference.safetensors", out)


def sequence_logps(model, tokens, mask):
    logp = F.log_softmax(model.forward(tokens[:, :-1]), dim=-1).gather(-1, tokens[:, 1:, None])[..., 0]
    return (logp * mask).sum(1)


def dpo(work):
    cfg = json.load(open(f"{work}/config.json"))["sparkgpt"]
    beta = json.load(open(f"{work}/dpo.json"))["beta"]
    torch.set_num_threads(1)
    data = read_safetensors(f"{work}/dpo.safetensors")
    tokens, mask = data["tokens"].long(), data["mask"].float()
    reference = GPT(cfg, read_safetensors(f"{work}/reference/model.safetensors"))
    with torch.no_grad():
        ref = sequence_logps(reference, tokens, mask)
    model = GPT(cfg, read_safetensors(f"{work}/model.safetensors"))
    pi = sequence_logps(model, tokens, mask)
    p = pi.shape[0] // 2
    z = beta * ((pi[:p] - ref[:p]) - (pi[p:] - ref[p:]))
    loss = -F.logsigmoid(z).mean()
    loss.backward()
    out = {"policy_logps": pi.detach(), "reference_logps": ref, "loss": torch.tensor([loss.item()], dtype=torch.float64)}
    for n in model.names:
        out["grad." + n] = model.p[n].grad.detach().clone()
    write_safetensors(f"{work}/dpo_reference.safetensors", out)


def bench(cfg_path, batch, seq, steps, threads, profile=False):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = json.load(open(cfg_path))
    names = param_names(cfg)
    d, L, V = cfg["d_model"], cfg["n_layer"], cfg["vocab_size"]
    tensors = {}
    for n in names:
        shape = shape_of(n, cfg)
        if n.endswith(".bias"):
            tensors[n] = torch.zeros(shape)
        elif "ln_" in n:
            tensors[n] = torch.ones(shape)
        else:
            std = 0.02 / math.sqrt(2 * L) if n.endswith("c_proj.weight") else 0.02
            tensors[n] = torch.randn(shape) * std
    model = GPT(cfg, tensors)
    t = {"max_lr": 1e-3, "min_lr": 1e-4, "warmup_steps": 10, "decay_steps": 100, "beta1": 0.9, "beta2": 0.95,
         "eps": 1e-8, "weight_decay": 0.1}
    opt = make_optimizer(model, t)
    gen = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, V, (batch, seq + 1), generator=gen)
    w = torch.full((batch, seq), 1.0 / (batch * seq))

    def train_step():
        opt.zero_grad(set_to_none=True)
        step_loss, _ = model.loss(tokens, w)
        step_loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return step_loss

    times = []
    for s in range(steps + 1):
        t0 = time.perf_counter()
        loss = train_step()
        times.append(time.perf_counter() - t0)
    ms = 1000 * float(np.median(times[1:])) if steps > 0 else 1000 * times[0]
    groups = None
    if profile:
        with torch.autograd.profiler.profile() as prof:
            t0 = time.perf_counter()
            loss = train_step()
            wall = 1000 * (time.perf_counter() - t0)
        groups = {}
        for e in prof.key_averages():
            g = group_of(e.key)
            groups[g] = groups.get(g, 0.0) + e.self_cpu_time_total / 1000.0
        groups["wall_profiled"] = wall
    # GEMM peak of this torch build at this thread count
    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < 1.0:
        a @ b
        reps += 1
    gflops = 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9
    print(json.dumps({"ms_per_step": ms, "tokens_per_s": batch * seq / (ms / 1000), "gemm_gflops": gflops,
                      "loss": loss.item(), "threads": torch.get_num_threads(), "peak_rss_mb": peak_rss_mb(),
                      "profile_ms": groups}))


def peak_rss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# torch.autograd.profiler op names -> the kernel groups of sparkgpt's own timers
GROUPS = [("matmul", ("mm", "bmm", "matmul", "addmm", "linear", "MmBackward", "BmmBackward")),
          ("attn_softmax", ("softmax", "_softmax", "SoftmaxBackward", "masked_fill", "MaskedFill", "tril")),
          ("layernorm", ("layer_norm", "native_layer_norm", "NativeLayerNormBackward")),
          ("gelu", ("gelu", "GeluBackward")),
          ("loss", ("cross_entropy", "log_softmax", "nll_loss", "LogSoftmaxBackward", "NllLossBackward")),
          ("embedding", ("embedding", "index", "IndexBackward", "index_put", "EmbeddingBackward", "index_add")),
          ("optimizer", ("adamw", "_foreach", "Optimizer.step", "clip_grad", "addcdiv", "addcmul", "lerp", "sqrt",
                         "norm", "_fused"))]


def group_of(name):
    n = name.lower()
    for g, keys in GROUPS:
        if any(k.lower() in n for k in keys):
            return g
    return "other"


def generate(work):
    cfg = json.load(open(f"{work}/config.json"))["sparkgpt"]
    g = json.load(open(f"{work}/generate.json"))
    torch.set_num_threads(int(g.get("threads", 1)))
    model = GPT(cfg, read_safetensors(f"{work}/model.safetensors"))
    out, times = [], []
    with torch.no_grad():
        cache = []
        logits = model(torch.tensor([g["prompt"]]), cache)
        for _ in range(g["max_new_tokens"]):
            nxt = int(logits[0, -1].argmax())
            out.append(nxt)
            if len(out) == g["max_new_tokens"]:
                break
            t0 = time.perf_counter()
            logits = model(torch.tensor([[nxt]]), cache)
            times.append(time.perf_counter() - t0)
    print(json.dumps({"ids": out, "ms_per_token": 1000 * float(np.median(times)) if times else 0.0,
                      "peak_rss_mb": peak_rss_mb()}))


def gemm(shapes_json, threads):
    torch.set_num_threads(threads)
    res = []
    for m, k, n, ta, tb in json.loads(shapes_json):
        a = torch.randn(k, m) if ta else torch.randn(m, k)
        b = torch.randn(n, k) if tb else torch.randn(k, n)
        a, b = (a.t() if ta else a), (b.t() if tb else b)
        c = torch.empty(m, n)
        torch.mm(a, b, out=c)
        times = []
        t_end = time.perf_counter() + 1.0
        while time.perf_counter() < t_end or len(times) < 3:
            t0 = time.perf_counter()
            torch.mm(a, b, out=c)
            times.append(time.perf_counter() - t0)
        res.append(2.0 * m * k * n / float(np.median(times)) / 1e9)
    print(json.dumps({"gflops": res}))


if __name__ == "__main__":
    if sys.argv[1] == "parity":
        parity(sys.argv[2])
    elif sys.argv[1] == "heads":
        heads(sys.argv[2])
    elif sys.argv[1] == "dpo":
        dpo(sys.argv[2])
    elif sys.argv[1] == "bench":
        bench(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]),
              "--profile" in sys.argv[7:])
    elif sys.argv[1] == "generate":
        generate(sys.argv[2])
    elif sys.argv[1] == "gemm":
        gemm(sys.argv[2], int(sys.argv[3]))
    else:
        raise SystemExit("usage: gpt_reference.py parity WORK | heads WORK | dpo WORK | bench CONFIG B T STEPS THREADS [--profile] | generate WORK"
                         " | gemm SHAPES THREADS")
