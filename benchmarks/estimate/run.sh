#!/usr/bin/env bash
# Checks `plan --estimate --gpu cpu` against measurements on this host, at two shapes.
#
#   1. bench ceiling --threads T/2      fp32 product ceiling of one data-parallel rank's threads (reference)
#   2. bench collectives --worlds 2     all-reduce bus bandwidth between 2 local processes (64 MB)
#   3. bench ops                        the calibration: seconds per element of every non-GEMM op class and the
#                                       layers' GEMM rate on Tessera's strategy, for shape A with T and with T/2
#                                       threads and for shape B with T threads; the T/2-thread calibration of a
#                                       data-parallel rank runs as T/(T/2) concurrent copies, as the ranks do
#   4. bench step                       one process, T threads, shapes A and B: step time, the T-thread ceiling
#                                       and the time inside the linear layers' products (its GEMM breakdown)
#   5. bench scaling --dp 1,2 --tp 1    shape A: dp 1 (T threads) and dp 2 (T/2 threads per rank), the dp 2
#                                       point also without gradient reduction (exposed-communication baseline)
#   6. plan --estimate --gpu cpu        with bench ops' JSON (--ops-json: the op costs and the GEMM rate) and
#                                       the bus bandwidth measured above
#
# and prints predicted against measured seconds per step with their ratio (goal: within 20%, 0.8-1.2).
# Nothing is fitted to bench step or bench scaling: every figure of the estimate comes from bench ops and
# bench collectives. Shape A is LAYERS/BATCH/SEQ (default bert-base, 2 layers, batch 8, seq 128), shape B
# LAYERS_B/BATCH_B/SEQ_B (default 2 layers, batch 4, seq 256: twice the attention scores per token).
#
# Usage: benchmarks/estimate/run.sh [OUT_DIR, default a new temp dir]
#   (environment: LAYERS=2 BATCH=8 SEQ=128 LAYERS_B=2 BATCH_B=4 SEQ_B=256 THREADS=2 STEPS=5 WARMUP=2 OPS_REPS=7)
# Timings on a shared machine are noisy: the script prints `uptime` before and after.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$(mktemp -d -t tessera-estimate.XXXXXX)}"
mkdir -p "$out"
layers="${LAYERS:-2}" batch="${BATCH:-8}" seq="${SEQ:-128}" threads="${THREADS:-2}"
layers_b="${LAYERS_B:-2}" batch_b="${BATCH_B:-4}" seq_b="${SEQ_B:-256}"
steps="${STEPS:-5}" warmup="${WARMUP:-2}" ops_reps="${OPS_REPS:-7}"
rank_threads=$(( threads / 2 > 0 ? threads / 2 : 1 ))
tessera="$root/bin/tessera"
shape=(--model bert-base --layers "$layers" --batch "$batch" --seq "$seq")
shape_b=(--model bert-base --layers "$layers_b" --batch "$batch_b" --seq "$seq_b")

echo "load before: $(uptime)"
"$tessera" bench ops "${shape[@]}" --threads "$threads" --reps "$ops_reps" --json "$out/ops.json" > "$out/ops.txt"
# A data-parallel rank shares the host's caches and memory bandwidth with the other rank(s), so its
# calibration runs beside copies of itself, as the ranks run: one bench ops per rank, concurrently
# (the first one's figures are used; the others' are kept for comparison).
ranks=$(( threads / rank_threads ))
for r in $(seq 1 $(( ranks - 1 ))); do
  "$tessera" bench ops "${shape[@]}" --threads "$rank_threads" --reps "$ops_reps" --json "$out/ops-rank-peer$r.json" \
    > "$out/ops-rank-peer$r.txt" &
done
"$tessera" bench ops "${shape[@]}" --threads "$rank_threads" --reps "$ops_reps" --json "$out/ops-rank.json" > "$out/ops-rank.txt"
wait
"$tessera" bench ops "${shape_b[@]}" --threads "$threads" --reps "$ops_reps" --json "$out/ops-b.json" > "$out/ops-b.txt"
echo "load after bench ops: $(uptime)"
"$tessera" bench ceiling --shapes 2048x768x3072 --threads "$rank_threads" --reps 10 --no-reference --no-fp16 --json "$out/ceiling-rank.json" \
  > "$out/ceiling-rank.txt"
"$tessera" bench collectives --worlds 2 --sizes 64MB --ops allreduce --iters 10 --no-gloo --json "$out/collectives.json" \
  > "$out/collectives.txt"
"$tessera" bench step "${shape[@]}" --threads "$threads" --steps "$steps" --warmup "$warmup" --no-reference \
  --json "$out/step.json" > "$out/step.txt"
"$tessera" bench step "${shape_b[@]}" --threads "$threads" --steps "$steps" --warmup "$warmup" --no-reference \
  --json "$out/step-b.json" > "$out/step-b.txt"
"$tessera" bench scaling "${shape[@]}" --steps "$steps" --warmup "$warmup" --dp 1,2 --tp 1 --mode weak --cores "$threads" \
  --no-reference --json "$out/scaling.json" > "$out/scaling.txt"
echo "load after:  $(uptime)"

/usr/bin/python3 - "$out" "$tessera" "$layers" "$batch" "$seq" "$threads" "$rank_threads" "$layers_b" "$batch_b" "$seq_b" <<'PY'
import json, re, subprocess, sys

out, tessera, layers, batch, seq, threads, rank_threads, layers_b, batch_b, seq_b = sys.argv[1:11]
load = lambda name: json.load(open(f"{out}/{name}", encoding="utf-8"))
ceiling_rank = load("ceiling-rank.json")["ceiling"]["gflops"]
step = load("step.json")
ceiling_all = step["ceiling"]["gflops"]
busbw = [r["busbw_gbps"] for r in load("collectives.json")["rows"]
         if r["backend"] == "tessera-netty" and r["op"] == "allreduce" and r["world"] == 2][0]
scaling = load("scaling.json")
tessera_rows = [r for r in scaling["rows"] if r["system"] == "tessera" and r["tp"] == 1]
measured_step = [r for r in step["rows"] if r["system"] == "tessera"][0]["step_s"]
dp1 = [r for r in tessera_rows if r["dp"] == 1][0]
dp2 = [r for r in tessera_rows if r["dp"] == 2][0]


def estimate(gpus, ops, L, b, s):
    cmd = [tessera, "plan", "--estimate", "--gpu", "cpu", "--model", "bert-base", "--layers", L,
           "--gpus", str(gpus), "--seq", s, "--micro-batch", b, "--precision", "FP32",
           "--ops-json", f"{out}/{ops}", "--intra-node-gbps", "%.4f" % busbw]
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    grab = lambda label: float(re.search(r"^%s\s+([0-9.]+) s" % label, text, re.M).group(1))
    return {"cmd": " ".join(cmd[1:]).replace(out + "/", ""), "step": grab("step time"), "compute": grab("compute"),
            "nongemm": grab("non-GEMM") + grab("optimizer"), "dp": grab("dp gradients"),
            "by": re.search(r"^  by class\s+(.*)$", text, re.M).group(1)}


def gemm_seconds(step_report):
    # bench step's note: "tessera step breakdown over N timed steps: linear-layer GEMMs X s (...)"
    for note in step_report.get("notes", []):
        m = re.search(r"breakdown over (\d+) timed steps: linear-layer GEMMs ([0-9.]+) s", note)
        if m:
            return float(m.group(2)) / int(m.group(1))
    return None


step_b = load("step-b.json")
measured_b = [r for r in step_b["rows"] if r["system"] == "tessera"][0]["step_s"]
gemm_a, gemm_b = gemm_seconds(step), gemm_seconds(step_b)
ops_a, ops_rank, ops_b = load("ops.json"), load("ops-rank.json"), load("ops-b.json")
e1 = estimate(1, "ops.json", layers, batch, seq)
e2 = estimate(2, "ops-rank.json", layers, batch, seq)
eb = estimate(1, "ops-b.json", layers_b, batch_b, seq_b)
print()
print("shape A: bert-base, %s layers, seq %s, batch %s per rank; shape B: %s layers, seq %s, batch %s; fp32, AdamW,"
      " %s threads per host" % (layers, seq, batch, layers_b, seq_b, batch_b, threads))
print("measured: GEMM rate of the layers' products (bench ops, Tessera's %s strategy) %.1f GFLOP/s with %s threads"
      " (shape B %.1f), %.1f with %s thread(s); ceilings (best run, for reference) %.1f GFLOP/s with %s threads"
      " (bench step), %.1f with %s; all-reduce busbw %.3f GB/s (2 processes, 64 MB)"
      % (ops_a["gemm"]["strategy"], ops_a["gemm"]["gflops"], threads, ops_b["gemm"]["gflops"], ops_rank["gemm"]["gflops"],
         rank_threads, ceiling_all, threads, ceiling_rank, rank_threads, busbw))
print("non-GEMM by class, shape A (s/step): %s" % e1["by"])
print("non-GEMM by class, shape B (s/step): %s" % eb["by"])
print("estimates: bin/tessera %s" % e1["cmd"])
print("           bin/tessera %s" % e2["cmd"])
print("           bin/tessera %s" % eb["cmd"])
print()
print("%-46s %11s %11s %10s" % ("quantity", "predicted", "measured", "pred/meas"))
rows = [
    ("A: bench step, 1 process (s/step)", e1["step"], measured_step),
    ("A: its linear-layer GEMMs (s/step)", e1["compute"], gemm_a),
    ("A: the rest of its step (s/step)", e1["nongemm"], None if gemm_a is None else measured_step - gemm_a),
    ("B: bench step, 1 process (s/step)", eb["step"], measured_b),
    ("B: its linear-layer GEMMs (s/step)", eb["compute"], gemm_b),
    ("B: the rest of its step (s/step)", eb["nongemm"], None if gemm_b is None else measured_b - gemm_b),
    ("A: bench scaling dp 1, 1 process (s/step)", e1["step"], dp1["step_s"]),
    ("A: bench scaling dp 2 (s/step)", e2["step"], dp2["step_s"]),
    ("A: dp 2 without reduction (s/step)", e2["step"] - e2["dp"], dp2.get("step_s_no_reduction")),
    ("A: dp 2 reduction cost (s/step)", e2["dp"],
     None if dp2.get("step_s_no_reduction") is None else dp2["step_s"] - dp2["step_s_no_reduction"]),
    ("A: dp 2 exposed-communication fraction", e2["dp"] / e2["step"], dp2.get("exposed_comm")),
]
for name, pred, meas in rows:
    if meas is None:
        print("%-46s %11.4f %11s %10s" % (name, pred, "-", "-"))
    else:
        print("%-46s %11.4f %11.4f %10.2f" % (name, pred, meas, pred / meas if meas else float("nan")))
print()
print("goal: step-time ratios within 0.8-1.2. compute = the linear layers' FLOPs at bench ops' GEMM rate (the"
      " attention's batched products are priced per score, under non-GEMM); 'the rest' = non-GEMM + optimizer"
      " against bench step's time outside the linear layers' products (which holds the attention products too).")
PY
