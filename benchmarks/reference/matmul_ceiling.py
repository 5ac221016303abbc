#!/usr/bin/env python3
"""PyTorch's matrix-product rates, for Tessera's ceiling benchmark.

Times torch.matmul on each shape MxKxN (A[m x k] . B[k x n], uniform random operands) in fp32, bf16
and fp16: --warmup untimed runs, then --reps timed ones; GFLOP/s = 2mnk / median. bf16 and fp16
results are compared with the fp32 product (max|dC| / max|C|). A data type the build cannot multiply
on CPU is reported with status "failed" and the error, not raised.

One JSON line per (dtype, shape), with the durations in "seconds" so that the caller computes the
same statistics as for its own backends.

With --device cuda[:N] the operands live on that GPU and each sample is --batch products launched back
to back, then torch.cuda.synchronize(), divided by --batch (kernel launches return at once). TF32 stays
off for fp32 products, libtorch's default, as in Tessera's measurement.

Usage:
    python3 matmul_ceiling.py --shapes 2048x768x3072,2048x2048x2048 --threads 2
"""

import argparse
import json
import statistics
import sys
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default="2048x768x3072,2048x2048x2048")
    ap.add_argument("--dtypes", default="fp32,bf16,fp16")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=None, help="products per sample (default: 1 on CPU, 20 on a GPU)")
    args = ap.parse_args(argv)
    import torch

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    kinds = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    unknown = [d for d in dtypes if d not in kinds]
    if unknown:
        ap.error("unknown dtypes %s; known: %s" % (unknown, ", ".join(kinds)))
    device = torch.device(args.device)
    gpu = device.type == "cuda"
    if gpu:
        torch.backends.cuda.matmul.allow_tf32 = False
    batch = args.batch or (20 if gpu else 1)

    def sync():
        if gpu:
            torch.cuda.synchronize(device)

    for shape in args.shapes.split(","):
        m, k, n = (int(x) for x in shape.lower().split("x"))
        g = torch.Generator().manual_seed(0)
        a = (torch.rand(m, k, generator=g) * 2 - 1).to(device)
        b = (torch.rand(k, n, generator=g) * 2 - 1).to(device)
        ref = torch.matmul(a, b)
        for name in dtypes:
            row = {"system": "pytorch", "script": "matmul_ceiling", "backend": "pytorch", "torch": torch.__version__,
                   "threads": torch.get_num_threads(), "dtype": name, "shape": shape, "device": str(device)}
            try:
                x = a.to(kinds[name])
                y = b.to(kinds[name])
                for _ in range(args.warmup):
                    torch.matmul(x, y)
                sync()
                times = []
                for _ in range(args.reps):
                    t0 = time.perf_counter()
                    for _ in range(batch):
                        torch.matmul(x, y)
                    sync()
                    times.append((time.perf_counter() - t0) / batch)
                c = torch.matmul(x, y).to(torch.float32)
                err = None if name == "fp32" else float((c - ref).abs().max() / ref.abs().max())
                median = statistics.median(times)
                row.update({"status": "measured", "seconds": times, "gflops": 2.0 * m * n * k / median / 1e9,
                            "best_gflops": 2.0 * m * n * k / min(times) / 1e9, "max_relative_error": err})
            except (RuntimeError, TypeError) as e:
                row.update({"status": "failed", "note": "%s: %s" % (type(e).__name__, e)})
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
