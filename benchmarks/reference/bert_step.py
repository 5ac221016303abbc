#!/usr/bin/env python3
"""PyTorch eager reference for Tessera's step benchmark.

A BERT-shaped masked-LM model written directly in PyTorch: embeddings (word, position, token type,
LayerNorm, dropout), L post-LN encoder layers (fused QKV projection, softmax attention, output
projection, GELU MLP, residual + LayerNorm after each sub-layer) and the masked-LM head (dense h x h,
GELU, LayerNorm, decoder tied to the word embeddings, over every position). AdamW with weight decay
on matrices only, global gradient-norm clipping at --clip (1.0, as BERT pre-training; the norm is
computed even when clipping is off, as Tessera's data-parallel step does). A full training step (zero_grad, forward, loss, backward, optimizer step) is timed
after warm-up; the batch is built once, so data loading is not timed.

Prints one JSON line: tokens_per_s, step_s_median/mean/min, flops_per_step and tflops, with FLOPs
counted by the same formula as io.tessera.benchmarks.flops.TransformerFlops:

    per token and layer (forward)   8h^2 + 4sh + 4hf
        (QKV 2*3h^2, scores 2sh, attention*V 2sh, output 2h^2, MLP 2*2hf)
    per predicted token (forward)   2hV + 2h^2   (vocabulary projection + MLM transform)
    step                            3 * (B*s*L*layer + B*p*head)   (backward = 2 x forward)

Usage:
    python3 bert_step.py --hidden 768 --layers 2 --heads 12 --seq 128 --batch 8 --threads 2
    python3 bert_step.py --config '{"hidden": 768, "layers": 2}' --steps 10
    python3 bert_step.py --flops-only --hidden 768 ...   # formula only, torch not imported
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

DEFAULTS = {
    "hidden": 768,
    "layers": 2,
    "heads": 12,
    "ffn": None,  # 4 * hidden
    "seq": 128,
    "vocab": 30522,
    "batch": 8,
    "max_positions": 512,
    "type_vocab": 2,
    "dropout": 0.1,
    "attention_dropout": None,  # same as dropout
    "layer_norm_eps": 1e-12,
    "mask_prob": 0.15,
    "lr": 1e-4,
    "weight_decay": 0.01,
    "clip": 1.0,  # global gradient-norm clipping threshold; 0 disables it
    "seed": 1234,
    "steps": 10,
    "warmup": 3,
    "device": "cpu",  # or cuda / cuda:N: model and batch there, each timed step ends with torch.cuda.synchronize()
    "precision": "fp32",  # or fp16: torch.autocast(float16) + GradScaler(2**16, growth every 1000 clean steps)
}


def flops_per_step(cfg, batch=None, predicted_per_sequence=None):
    """Matrix-product FLOPs of one training step (forward + backward), as TransformerFlops counts them."""
    h, L, f, s, V = cfg["hidden"], cfg["layers"], cfg["ffn"], cfg["seq"], cfg["vocab"]
    B = cfg["batch"] if batch is None else batch
    p = s if predicted_per_sequence is None else predicted_per_sequence
    layer = 2 * 3 * h * h + 2 * s * h + 2 * s * h + 2 * h * h + 2 * 2 * h * f
    head = 2 * h * V + 2 * h * h
    forward = float(B) * s * L * layer + float(B) * p * head
    return 3 * forward


def parse_config(argv=None, extra=None):
    """Reads the model/run configuration from --config JSON (text or file) and individual flags."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", help="JSON object or path to a JSON file with any of: " + ", ".join(DEFAULTS))
    for key, value in DEFAULTS.items():
        kind = str if isinstance(value, str) else float if isinstance(value, float) or key == "attention_dropout" else int
        ap.add_argument("--" + key.replace("_", "-"), dest=key, type=kind, default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: all cores)")
    ap.add_argument("--interop-threads", type=int, default=1, help="torch.set_num_interop_threads")
    ap.add_argument("--flops-only", action="store_true", help="print the FLOP count and exit without torch")
    if extra is not None:
        extra(ap)
    args = ap.parse_args(argv)
    cfg = dict(DEFAULTS)
    if args.config:
        text = args.config
        if not text.lstrip().startswith("{") and os.path.exists(text):
            with open(text, encoding="utf-8") as fh:
                text = fh.read()
        given = json.loads(text)
        unknown = sorted(set(given) - set(DEFAULTS))
        if unknown:
            ap.error("unknown config keys %s; known: %s" % (unknown, ", ".join(DEFAULTS)))
        cfg.update(given)
    for key in DEFAULTS:
        value = getattr(args, key)
        if value is not None:
            cfg[key] = value
    if cfg["ffn"] is None:
        cfg["ffn"] = 4 * cfg["hidden"]
    if cfg["attention_dropout"] is None:
        cfg["attention_dropout"] = cfg["dropout"]
    problems = []
    for key in ("hidden", "layers", "heads", "ffn", "seq", "vocab", "batch", "steps"):
        if cfg[key] < 1:
            problems.append("%s = %s must be at least 1" % (key, cfg[key]))
    if cfg["warmup"] < 0:
        problems.append("warmup = %s must be >= 0" % cfg["warmup"])
    if cfg["hidden"] % cfg["heads"] != 0:
        problems.append("hidden = %d is not divisible by heads = %d" % (cfg["hidden"], cfg["heads"]))
    if cfg["seq"] > cfg["max_positions"]:
        problems.append("seq = %d exceeds max_positions = %d; raise --max-positions" % (cfg["seq"], cfg["max_positions"]))
    if cfg["precision"] not in ("fp32", "fp16"):
        problems.append("precision = %s: use fp32 or fp16" % cfg["precision"])
    elif cfg["precision"] == "fp16" and not str(cfg["device"]).startswith("cuda"):
        problems.append("precision = fp16 on %s: PyTorch's CPU autocast computes in bf16 only; use a cuda device"
                        % cfg["device"])
    if problems:
        ap.error("; ".join(problems))
    threads = args.threads if args.threads is not None else (os.cpu_count() or 1)
    if threads < 1:
        ap.error("--threads = %d must be at least 1" % threads)
    return cfg, threads, args


def build_model(cfg):
    """The BERT masked-LM model; imports torch on first use."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    h, A, f = cfg["hidden"], cfg["heads"], cfg["ffn"]
    eps, p = cfg["layer_norm_eps"], cfg["dropout"]

    class Embeddings(nn.Module):
        def __init__(self):
            super().__init__()
            self.word = nn.Embedding(cfg["vocab"], h)
            self.position = nn.Embedding(cfg["max_positions"], h)
            self.token_type = nn.Embedding(cfg["type_vocab"], h)
            self.norm = nn.LayerNorm(h, eps=eps)
            self.drop = nn.Dropout(p)

        def forward(self, ids, types):
            positions = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
            x = self.word(ids) + self.position(positions) + self.token_type(types)
            return self.drop(self.norm(x))

    class Layer(nn.Module):
        """Post-LN encoder layer: x = LN(x + Attn(x)); x = LN(x + MLP(x))."""

        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(h, 3 * h)
            self.attn_out = nn.Linear(h, h)
            self.norm1 = nn.LayerNorm(h, eps=eps)
            self.fc1 = nn.Linear(h, f)
            self.fc2 = nn.Linear(f, h)
            self.norm2 = nn.LayerNorm(h, eps=eps)
            self.drop = nn.Dropout(p)
            self.attn_drop = nn.Dropout(cfg["attention_dropout"])

        def forward(self, x, mask_add):
            B, S, _ = x.shape
            d = h // A
            q, k, v = self.qkv(x).view(B, S, 3, A, d).permute(2, 0, 3, 1, 4)  # each [B, A, S, d]
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + mask_add  # [B, A, S, S]
            probs = self.attn_drop(torch.softmax(scores, dim=-1))
            ctx = torch.matmul(probs, v).transpose(1, 2).reshape(B, S, h)
            x = self.norm1(x + self.drop(self.attn_out(ctx)))
            return self.norm2(x + self.drop(self.fc2(F.gelu(self.fc1(x)))))

    class BertMlm(nn.Module):
        def __init__(self):
            super().__init__()
            self.embeddings = Embeddings()
            self.layers = nn.ModuleList([Layer() for _ in range(cfg["layers"])])
            self.transform = nn.Linear(h, h)
            self.transform_norm = nn.LayerNorm(h, eps=eps)
            self.decoder_bias = nn.Parameter(torch.zeros(cfg["vocab"]))
            self.apply(self._init)

        @staticmethod
        def _init(m):
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

        def forward(self, ids, types, attention_mask, labels):
            mask_add = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * -10000.0
            x = self.embeddings(ids, types)
            for layer in self.layers:
                x = layer(x, mask_add)
            x = self.transform_norm(F.gelu(self.transform(x)))
            logits = F.linear(x, self.embeddings.word.weight, self.decoder_bias)  # tied decoder, [B, S, V]
            return F.cross_entropy(logits.view(-1, cfg["vocab"]), labels.view(-1), ignore_index=-100)

    return BertMlm()


def make_batch(cfg, batch, seed):
    """Random token ids, two segments, no padding, mask_prob of the positions labelled."""
    import torch

    g = torch.Generator().manual_seed(seed)
    s = cfg["seq"]
    ids = torch.randint(0, cfg["vocab"], (batch, s), generator=g)
    types = torch.zeros(batch, s, dtype=torch.long)
    types[:, s // 2:] = 1
    mask = torch.ones(batch, s, dtype=torch.long)
    labels = torch.full((batch, s), -100, dtype=torch.long)
    chosen = torch.rand(batch, s, generator=g) < cfg["mask_prob"]
    labels[chosen] = ids[chosen]
    return ids, types, mask, labels


def make_optimizer(cfg, model):
    """AdamW; weight decay on matrices (dim >= 2), none on biases and LayerNorm, as in Tessera's AdamW."""
    import torch

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg["weight_decay"]},
                              {"params": no_decay, "weight_decay": 0.0}], lr=cfg["lr"])


def blas_info():
    """The BLAS libtorch calls: torch's BLAS_INFO and, for a generic build, the BLAS library mapped in."""
    import re

    import torch

    m = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    info = m.group(1) if m else "unknown"
    try:
        with open("/proc/self/maps", encoding="utf-8") as fh:
            libs = sorted({line.split()[-1].rsplit("/", 1)[-1] for line in fh
                           if "blas" in line.rsplit("/", 1)[-1].lower() and "/" in line})
    except OSError:
        libs = []
    return info + (" (" + ", ".join(libs) + ")" if libs else "")


def train_step(model, opt, batch, clip=0.0, scaler=None):
    """zero_grad, forward, backward, global-norm clipping (computed even when clip <= 0), AdamW step.

    With a GradScaler (fp16), the forward runs under torch.autocast(float16), backward is seeded with the
    loss scale, the gradients are unscaled before clipping, and a step whose gradients overflowed is
    skipped (the scale halves), as Tessera's DynamicLossScaler does."""
    import torch

    opt.zero_grad(set_to_none=True)
    if scaler is None:
        loss = model(*batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip if clip > 0 else float("inf"))
        opt.step()
        return loss
    with torch.autocast(device_type=batch[0].device.type, dtype=torch.float16):
        loss = model(*batch)
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip if clip > 0 else float("inf"))
    scaler.step(opt)
    scaler.update()
    return loss


def grad_scaler(cfg):
    """The fp16 loss scaler with Tessera's (and DeepSpeed's) policy, or None in fp32."""
    if cfg["precision"] != "fp16":
        return None
    import torch

    kwargs = dict(init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=1000)
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler(torch.device(cfg["device"]).type, **kwargs)
    return torch.cuda.amp.GradScaler(**kwargs)


def synchronize(cfg):
    """Waits for the device's queued kernels (a no-op on the CPU)."""
    import torch

    if torch.device(cfg["device"]).type == "cuda":
        torch.cuda.synchronize(torch.device(cfg["device"]))


def main(argv=None):
    cfg, threads, args = parse_config(argv)
    tokens = cfg["batch"] * cfg["seq"]
    if args.flops_only:
        print(json.dumps({"system": "pytorch", "script": "bert_step", "config": cfg,
                          "tokens_per_step": tokens, "flops_per_step": flops_per_step(cfg)}))
        return 0
    import torch

    torch.set_num_threads(threads)
    torch.set_num_interop_threads(args.interop_threads)
    torch.manual_seed(cfg["seed"])
    device = torch.device(cfg["device"])
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # fp32 products in fp32, as libtorch's default in Tessera
    model = build_model(cfg).to(device)
    model.train()
    opt = make_optimizer(cfg, model)
    batch = tuple(t.to(device) for t in make_batch(cfg, cfg["batch"], cfg["seed"]))
    scaler = grad_scaler(cfg)
    losses = []
    for _ in range(cfg["warmup"]):
        losses.append(train_step(model, opt, batch, cfg["clip"], scaler).item())
    synchronize(cfg)
    times = []
    for _ in range(cfg["steps"]):
        t0 = time.perf_counter()
        loss = train_step(model, opt, batch, cfg["clip"], scaler)
        synchronize(cfg)
        times.append(time.perf_counter() - t0)
        losses.append(loss.item())
    median = statistics.median(times)
    flops = flops_per_step(cfg)
    print(json.dumps({
        "system": "pytorch",
        "script": "bert_step",
        "torch": torch.__version__,
        "blas": blas_info(),
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "config": cfg,
        "parameters": sum(p.numel() for p in model.parameters()),
        "tokens_per_step": tokens,
        "warmup": cfg["warmup"],
        "steps": cfg["steps"],
        "step_s": times,
        "step_s_median": median,
        "step_s_mean": statistics.fmean(times),
        "step_s_min": min(times),
        "tokens_per_s": tokens / median,
        "flops_per_step": flops,
        "tflops": flops / median / 1e12,
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "loss_first": losses[0],
        "loss_last": losses[-1],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
