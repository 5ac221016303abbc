#!/usr/bin/env python3
"""PyTorch Gloo reference for Tessera's collectives benchmark.

Runs `world` local processes over Gloo (TCP on loopback) and, on rank 0, prints one line per
measurement in the format Tessera's CollectivesBenchmark parses:

    RESULT <op> <bytes> <seconds per op>

the slowest rank's mean over the timed iterations, as Tessera's worker reports it. Data is fp32.
Ops Gloo lacks in this PyTorch version print `SKIP <op> <reason>` instead.

Usage: gloo_collectives.py --world 2 --ops allreduce,allgather --sizes 1048576,16777216 --iters 10 --warmup 2
"""
import argparse
import os
import socket
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_op(op, data, parts, world):
    if op == "allreduce":
        dist.all_reduce(data)
    elif op == "reducescatter":
        dist.reduce_scatter(parts[dist.get_rank()], list(data.chunk(world)))
    elif op == "allgather":
        dist.all_gather(parts, parts[dist.get_rank()])
    elif op == "broadcast":
        dist.broadcast(data, 0)
    else:
        raise ValueError("unknown op " + op)


def worker(rank, world, port, ops, sizes, iters, warmup):
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % port, rank=rank, world_size=world)
    for op in ops:
        for size in sizes:
            n = size // 4 // world * world
            data = torch.full((n,), 1e-3, dtype=torch.float32)
            parts = [torch.empty(n // world, dtype=torch.float32) for _ in range(world)]
            try:
                for _ in range(warmup):
                    run_op(op, data, parts, world)
            except RuntimeError as e:
                if rank == 0:
                    print("SKIP %s %s" % (op, str(e).splitlines()[0]), flush=True)
                break
            dist.barrier()
            t0 = time.perf_counter()
            for _ in range(iters):
                run_op(op, data, parts, world)
            elapsed = torch.tensor([time.perf_counter() - t0], dtype=torch.float64)
            dist.all_reduce(elapsed, op=dist.ReduceOp.MAX)
            if rank == 0:
                print("RESULT %s %d %.9f" % (op, size, elapsed.item() / iters), flush=True)
    dist.barrier()
    dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--world", type=int, required=True)
    p.add_argument("--ops", default="allreduce")
    p.add_argument("--sizes", default="16777216")
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    a = p.parse_args()
    ops = [o.strip() for o in a.ops.split(",") if o.strip()]
    sizes = [int(s) for s in a.sizes.split(",")]
    mp.start_processes(worker, args=(a.world, free_port(), ops, sizes, a.iters, a.warmup), nprocs=a.world,
                       start_method="fork", join=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
