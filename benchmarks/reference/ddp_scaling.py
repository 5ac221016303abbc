#!/usr/bin/env python3
"""PyTorch DDP + Gloo reference for Tessera's scaling benchmark.

For each world size N in --worlds, spawns N local processes (torch.multiprocessing, 'spawn'), each
with max(1, threads // N) intra-op threads (OMP_NUM_THREADS and OPENBLAS_NUM_THREADS are set before
the children import torch), joined by a Gloo process group on 127.0.0.1. Every rank trains the
model of bert_step.py wrapped in DistributedDataParallel (gradient buckets all-reduced by Gloo while
backward runs).

    weak scaling    every rank keeps --batch sequences; the global batch grows with N
    strong scaling  the global batch --batch is split over the N ranks (must divide)

A step's duration is the slowest rank's (MAX all-reduce of the per-step times after the timed loop);
the median over --steps steps is reported. One JSON line per world size:
tokens_per_s = global_batch * seq / step_s_median, tflops from bert_step.flops_per_step over the
global batch. Efficiency is left to the caller: throughput(N) / (N * throughput(1)).

With --no-sync, every step (warm-up and timed) runs inside model.no_sync(): DDP then skips its gradient
all-reduce in backward (each rank keeps its own gradients) while the ranks, threads, batches, forward,
clipping and optimizer step stay the same. Its median step time is the baseline of the exposed-
communication fraction 1 - step_s(no_sync) / step_s(sync) that Tessera's scaling benchmark prints. The
ranks' models drift apart under it; only the times mean anything.

With --interleave, each process times both kinds of step in turn on the same model (pairs of one synced
step and one no_sync() step, the order alternating pair by pair, after warm-up of both kinds; each step
after an untimed barrier, so that an unsynchronised step never overlaps another rank's synced one) and reports
step_s (synced) and step_s_no_sync: the baseline shares the run's moment, processes and memory, so load
that changes during the run falls on both.

With "device": "cuda" in the configuration, rank r runs on cuda:r with the NCCL backend (DDP with
device_ids=[r]), and every timed step ends with torch.cuda.synchronize().

Usage:
    python3 ddp_scaling.py --worlds 1,2 --mode weak --hidden 768 --layers 2 --batch 8 --seq 128 --threads 2
"""

import json
import os
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bert_step  # noqa: E402  (the same model, batch and optimizer as the single-process reference)


def _extra_args(ap):
    ap.add_argument("--worlds", default="1,2", help="comma-separated process counts, e.g. 1,2,4")
    ap.add_argument("--mode", choices=("weak", "strong"), default="weak")
    ap.add_argument("--timeout-s", type=int, default=600, help="Gloo collective timeout")
    ap.add_argument("--no-sync", action="store_true", help="run every step inside DDP's no_sync() (no gradient all-reduce)")
    ap.add_argument("--interleave", action="store_true",
                    help="time synced and no_sync() steps in alternation in one run (step_s and step_s_no_sync)")


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, world, cfg, batch_per_rank, threads_per_rank, port, timeout_s, result_path, no_sync=False,
            interleave=False):
    import contextlib
    import datetime

    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    torch.set_num_threads(threads_per_rank)
    torch.set_num_interop_threads(1)
    gpu = str(cfg["device"]).startswith("cuda")
    if gpu:  # rank r on cuda:r, NCCL, as Tessera's GPU ranks
        torch.cuda.set_device(rank)
        torch.backends.cuda.matmul.allow_tf32 = False
    device = torch.device("cuda", rank) if gpu else torch.device("cpu")
    dist.init_process_group("nccl" if gpu else "gloo", init_method="tcp://127.0.0.1:%d" % port, rank=rank,
                            world_size=world, timeout=datetime.timedelta(seconds=timeout_s))
    rank_cfg = dict(cfg, device=str(device))
    try:
        torch.manual_seed(cfg["seed"])  # same initial weights on every rank (DDP also broadcasts rank 0's)
        model = DDP(bert_step.build_model(cfg).to(device), device_ids=[rank] if gpu else None)
        model.train()
        opt = bert_step.make_optimizer(cfg, model)
        batch = tuple(t.to(device) for t in bert_step.make_batch(cfg, batch_per_rank, cfg["seed"] + rank))

        def step(skip_sync):
            # no_sync covers forward and backward: DDP decides in forward whether backward all-reduces
            with model.no_sync() if skip_sync else contextlib.nullcontext():
                bert_step.train_step(model, opt, batch, cfg["clip"])

        def timed(skip_sync):
            t0 = time.perf_counter()
            step(skip_sync)
            bert_step.synchronize(rank_cfg)
            return time.perf_counter() - t0

        kinds = (False, True) if interleave else (no_sync,)
        for _ in range(cfg["warmup"]):
            for k in kinds:
                step(k)
        bert_step.synchronize(rank_cfg)
        dist.barrier()
        times = {k: [] for k in kinds}
        for i in range(cfg["steps"]):
            for k in (kinds if i % 2 == 0 else kinds[::-1]):
                if interleave:
                    dist.barrier()  # untimed: a no_sync step never overlaps another rank's synced one
                times[k].append(timed(k))

        def slowest(values):
            t = torch.tensor(values, dtype=torch.float64, device=device)
            dist.all_reduce(t, op=dist.ReduceOp.MAX)
            return t.cpu().tolist()

        result = {"step_s": slowest(times[kinds[0]]), "threads": torch.get_num_threads(), "torch": torch.__version__,
                  "blas": bert_step.blas_info()}
        if interleave:
            result["step_s_no_sync"] = slowest(times[True])
        if rank == 0:
            with open(result_path, "w", encoding="utf-8") as fh:
                json.dump(result, fh)
    finally:
        dist.destroy_process_group()
    # PyTorch 1.13 can deadlock tearing DDP down at exit: ~Reducer -> ~ProcessGroupGloo joins Gloo's worker
    # thread while that thread waits for the GIL to free a tensor's Python object (a no_sync world-2 rank hung
    # so, at 100% CPU, on 2026-12-07). The result file is closed and nothing is left to do: leave without
    # running destructors.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main(argv=None):
    cfg, threads, args = bert_step.parse_config(argv, extra=_extra_args)
    worlds = [int(w) for w in args.worlds.split(",") if w.strip()]
    if not worlds or min(worlds) < 1:
        print("ddp_scaling.py: --worlds %r must list positive process counts" % args.worlds, file=sys.stderr)
        return 2
    import tempfile

    import torch.multiprocessing as mp

    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    for world in worlds:
        if args.mode == "strong" and cfg["batch"] % world != 0:
            print("ddp_scaling.py: strong scaling needs --batch %d divisible by world %d; skipping it"
                  % (cfg["batch"], world), file=sys.stderr)
            continue
        batch_per_rank = cfg["batch"] if args.mode == "weak" else cfg["batch"] // world
        threads_per_rank = max(1, threads // world)
        os.environ["OMP_NUM_THREADS"] = str(threads_per_rank)
        os.environ["OPENBLAS_NUM_THREADS"] = str(threads_per_rank)
        os.environ["MKL_NUM_THREADS"] = str(threads_per_rank)
        with tempfile.TemporaryDirectory(prefix="ddp-scaling") as tmp:
            result_path = os.path.join(tmp, "rank0.json")
            mp.spawn(_worker, args=(world, cfg, batch_per_rank, threads_per_rank, _free_port(), args.timeout_s,
                                    result_path, args.no_sync, args.interleave), nprocs=world, join=True)
            with open(result_path, encoding="utf-8") as fh:
                res = json.load(fh)
        median = statistics.median(res["step_s"])
        global_batch = batch_per_rank * world
        tokens = global_batch * cfg["seq"]
        flops = bert_step.flops_per_step(cfg, batch=global_batch)
        line = {
            "system": "pytorch",
            "script": "ddp_scaling",
            "torch": res["torch"],
            "blas": res["blas"],
            "backend": "nccl" if str(cfg["device"]).startswith("cuda") else "gloo",
            "mode": args.mode,
            "world": world,
            "no_sync": args.no_sync,
            "threads_per_rank": res["threads"],
            "oversubscribed": world * threads_per_rank > (os.cpu_count() or 1),
            "batch_per_rank": batch_per_rank,
            "global_batch": global_batch,
            "config": cfg,
            "step_s": res["step_s"],
            "step_s_median": median,
            "step_s_mean": statistics.fmean(res["step_s"]),
            "tokens_per_s": tokens / median,
            "flops_per_step": flops,
            "tflops": flops / median / 1e12,
        }
        if "step_s_no_sync" in res:
            line["interleaved"] = True
            line["step_s_no_sync"] = res["step_s_no_sync"]
            line["step_s_no_sync_median"] = statistics.median(res["step_s_no_sync"])
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
