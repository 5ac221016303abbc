#!/usr/bin/env python3
"""Expected AdamW and LAMB trajectories from PyTorch, for io.tessera.optim.TorchReferenceTest.

Reads one JSON object on stdin:
  tensors: [{name, shape, values (flat, row-major), decay (bool)}]   in buffer order
  grads:   [[flat gradient of the whole buffer] per step]
  lrs:     [learning rate per step]
  adamw:   {beta1, beta2, eps, weight_decay}
  lamb:    {beta1, beta2, eps, weight_decay, adapt_no_decay}
Writes {"adamw": [[whole buffer after step k]], "lamb": [[...]]} on stdout.

AdamW is torch.optim.AdamW itself, with two parameter groups (decay / no decay). PyTorch has no LAMB,
so LAMB is written here in torch ops from You et al. (2019), NVIDIA's variant (bias-corrected moments,
u = m_hat / (sqrt(v_hat) + eps) + wd * p, per-tensor trust ratio ||p|| / ||u||, 1 when either is zero,
no decay and no ratio on no-decay tensors unless adapt_no_decay).
"""
import json
import sys

import torch


def tensors(spec):
    return [torch.tensor(t["values"], dtype=torch.float32).reshape(t["shape"]) for t in spec["tensors"]]


def split(flat, params):
    out, off = [], 0
    for p in params:
        n = p.numel()
        out.append(torch.tensor(flat[off:off + n], dtype=torch.float32).reshape(p.shape))
        off += n
    return out


def flat(params):
    return torch.cat([p.detach().reshape(-1) for p in params]).tolist()


def adamw(spec):
    cfg = spec["adamw"]
    params = [torch.nn.Parameter(t) for t in tensors(spec)]
    decay = [p for p, t in zip(params, spec["tensors"]) if t["decay"]]
    no_decay = [p for p, t in zip(params, spec["tensors"]) if not t["decay"]]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=spec["lrs"][0], betas=(cfg["beta1"], cfg["beta2"]), eps=cfg["eps"])
    trajectory = []
    for g, lr in zip(spec["grads"], spec["lrs"]):
        for p, gp in zip(params, split(g, params)):
            p.grad = gp
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        trajectory.append(flat(params))
    return trajectory


@torch.no_grad()
def lamb(spec):
    cfg = spec["lamb"]
    b1, b2, eps, wd = cfg["beta1"], cfg["beta2"], cfg["eps"], cfg["weight_decay"]
    params = tensors(spec)
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    trajectory = []
    for step, (g, lr) in enumerate(zip(spec["grads"], spec["lrs"]), start=1):
        for i, (p, gp) in enumerate(zip(params, split(g, params))):
            decay = spec["tensors"][i]["decay"]
            m[i].mul_(b1).add_(gp, alpha=1 - b1)
            v[i].mul_(b2).addcmul_(gp, gp, value=1 - b2)
            m_hat = m[i] / (1 - b1 ** step)
            v_hat = v[i] / (1 - b2 ** step)
            u = m_hat / (v_hat.sqrt() + eps)
            if decay:
                u.add_(p, alpha=wd)
            ratio = 1.0
            if decay or cfg["adapt_no_decay"]:
                p_norm, u_norm = p.norm().item(), u.norm().item()
                if p_norm > 0 and u_norm > 0:
                    ratio = p_norm / u_norm
            p.sub_(u, alpha=lr * ratio)
        trajectory.append(flat(params))
    return trajectory


def main():
    spec = json.load(sys.stdin)
    json.dump({"torch": torch.__version__, "adamw": adamw(spec), "lamb": lamb(spec)}, sys.stdout)


if __name__ == "__main__":
    main()
