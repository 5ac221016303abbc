#!/usr/bin/env bash
# Checks Tessera's GPU path on a lent GPU machine (no Java, no network) and prints tables.
#
# Prepare on the build machine:   scripts/gpu/prepare-bundle.sh        -> out/gpu-bundle.tar.xz (< 64 MiB)
# Run on the GPU machine, one part per call (a call may run 10 minutes; "all" may need more):
#   run(command="bash scripts/gpu/run-gpu-checks.sh nccl",  carry=["out/gpu-bundle.tar.xz"])
#   run(command="bash scripts/gpu/run-gpu-checks.sh step",  carry=["out/gpu-bundle.tar.xz"])
#   run(command="bash scripts/gpu/run-gpu-checks.sh train", carry=["out/gpu-bundle.tar.xz"])
#   bash scripts/gpu/run-gpu-checks.sh [nccl|step|train|all] [bundle.tar.xz | unpacked bundle dir]
#
# What it does, each step reported whatever the previous gave:
#   1. the machine: GPUs, driver, glibc; the Python/PyTorch install and the CUDA libraries its pip wheels
#      ship (site-packages/nvidia/*/lib: libcudart.so.12, libnccl.so.2, ...);
#   2. (nccl) NCCL without DJL: LD_LIBRARY_PATH and TESSERA_CUDA_LIBRARY_PATH point at those libraries, and
#      the tests that need no PyTorch run (probe, all-reduce of host buffers of every type, init timeout);
#   3. DJL against the machine's libtorch: PYTORCH_LIBRARY_PATH=<torch>/lib with DJL's own 2.7.1 JNI
#      (PYTORCH_VERSION=2.7.1, flavor cu128 then cpu; the machine's PyTorch is newer, e.g. 2.11). Loads or
#      not, and why;
#   4. (nccl) every NCCL test, with the DJL settings of step 3 (if none loaded, the tests on NDArrays fail
#      and say so);
#   5. (nccl) a table of every test and every [nccl-gpu] row;
#   6. (step) a BERT-base training step on cuda:0, fp32 and fp16, beside PyTorch's eager step on the same
#      GPU, with the measured fp32/fp16/bf16 matrix-product rates and MFU (bench step --device cuda);
#   7. (train) a short BERT pretraining run on cuda:0 (pretrain --device cuda): loss before and after,
#      tokens/s and device memory.
# Environment: TESSERA_GPU_WORK (scratch folder, default /tmp/tessera-gpu), PYTHON (interpreter with
# torch), STEP_TIMEOUT (seconds per Java run, default 240).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WHAT=${1:-all}
case "$WHAT" in
  nccl|step|train|all) ;;
  *) echo "usage: run-gpu-checks.sh [nccl|step|train|all] [bundle]; got '$WHAT'"; exit 2 ;;
esac
wants() { [[ "$WHAT" == all || "$WHAT" == "$1" ]]; }
BUNDLE=${2:-$ROOT/out/gpu-bundle.tar.xz}
WORK=${TESSERA_GPU_WORK:-/tmp/tessera-gpu}
STEP_TIMEOUT=${STEP_TIMEOUT:-240}
GPU_TEST=io.tessera.parallel.nccl.NcclGpuTest
mkdir -p "$WORK"

section() { printf '\n==== %s\n' "$*"; }

# ---- the bundle ----
if [[ -d "$BUNDLE" ]]; then
  B=$BUNDLE
elif [[ -f "$BUNDLE" ]]; then
  rm -rf "$WORK/gpu-bundle"
  tar -C "$WORK" -xJf "$BUNDLE" || { echo "cannot unpack $BUNDLE"; exit 2; }
  B=$WORK/gpu-bundle
else
  echo "no bundle at $BUNDLE; make it on the build machine with scripts/gpu/prepare-bundle.sh and carry out/gpu-bundle.tar.xz"
  exit 2
fi
JAVA=$B/jre/bin/java
CP="$B/jars/*"
[[ -x "$JAVA" ]] || { echo "no runtime at $JAVA"; exit 2; }

# ---- 1. the machine ----
section "1. machine"
uname -srm
ldd --version 2>&1 | head -1
"$JAVA" -version 2>&1 | head -1
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader
  nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | head -1
else
  echo "nvidia-smi: not found"
fi

PY=${PYTHON:-$(command -v python3 || command -v python || true)}
TORCH_DIR="" TORCH_VERSION="" TORCH_CUDA="" TORCH_NCCL=""
if [[ -n "$PY" ]]; then
  # one line: torch dir, version, CUDA version it was built for, NCCL version it ships
  cat > "$WORK/torch_info.py" <<'TORCH_INFO'
import os, torch
nccl = "none"
try:
    nccl = ".".join(map(str, torch.cuda.nccl.version()))
except Exception:
    pass
print(os.path.dirname(torch.__file__), torch.__version__, torch.version.cuda or "none", nccl)
TORCH_INFO
  read -r TORCH_DIR TORCH_VERSION TORCH_CUDA TORCH_NCCL < <("$PY" "$WORK/torch_info.py" 2>/dev/null)
fi
if [[ -z "$TORCH_DIR" ]]; then # no importable torch: look for an installed one
  TORCH_DIR=$(ls -d /usr/local/lib/python3*/{site,dist}-packages/torch /usr/lib/python3/dist-packages/torch \
      "$HOME"/.local/lib/python3*/site-packages/torch /opt/conda/lib/python3*/site-packages/torch 2>/dev/null | head -1)
fi
echo "python: ${PY:-none}; torch: ${TORCH_DIR:-not found} ${TORCH_VERSION:-?} (CUDA ${TORCH_CUDA:-?}, NCCL ${TORCH_NCCL:-?})"

LIB_DIRS=()
if [[ -n "$TORCH_DIR" ]]; then
  SITE=$(dirname "$TORCH_DIR")
  for d in "$SITE"/nvidia/*/lib "$SITE"/nvidia/cu*/lib; do
    [[ -d "$d" ]] && LIB_DIRS+=("$d")
  done
fi
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
  [[ -d "$d" ]] && LIB_DIRS+=("$d")
done
NEEDED_DIRS=()
for lib in libcudart.so.12 libnccl.so.2; do
  found=""
  for d in "${LIB_DIRS[@]}"; do
    if [[ -e "$d/$lib" ]]; then found="$d/$lib"; NEEDED_DIRS+=("$d"); break; fi
  done
  echo "$lib: ${found:-NOT FOUND (needed by the JNI wrappers of the presets)}"
done
echo "other CUDA runtimes present: $(for d in "${LIB_DIRS[@]}"; do ls "$d"/libcudart.so.* 2>/dev/null; done | xargs -n1 basename 2>/dev/null | sort -u | tr '\n' ' ')"
echo "libcuda.so.1 (driver): $( (ldconfig -p 2>/dev/null | grep -m1 'libcuda.so.1') || echo 'not in ldconfig cache')"

join() { local IFS=:; echo "$*"; }
export LD_LIBRARY_PATH
LD_LIBRARY_PATH=$(join "${LIB_DIRS[@]}" ${TORCH_DIR:+"$TORCH_DIR/lib"} ${LD_LIBRARY_PATH:+"$LD_LIBRARY_PATH"})
export TESSERA_CUDA_LIBRARY_PATH
TESSERA_CUDA_LIBRARY_PATH=$(join $(printf '%s\n' "${NEEDED_DIRS[@]}" | sort -u))
export DJL_CACHE_DIR=$WORK/djl ENGINE_CACHE_DIR=$WORK/djl
JOPTS=(-Xms512m -Xmx16g -XX:+UseParallelGC -Dai.djl.offline=true -Dtessera.gemm=libtorch
       "-Dorg.bytedeco.javacpp.cachedir=$WORK/javacpp"
       -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.log.ai.djl.pytorch=info)

# junit NAME SELECTORS... : runs the JUnit console launcher, log in $WORK/NAME.log, XML in $WORK/NAME/
junit() {
  local name=$1; shift
  rm -rf "${WORK:?}/$name"
  timeout "$STEP_TIMEOUT" "$JAVA" "${JOPTS[@]}" -cp "$CP" org.junit.platform.console.ConsoleLauncher execute \
    --disable-banner --disable-ansi-colors --details=tree --reports-dir="$WORK/$name" "$@" > "$WORK/$name.log" 2>&1
  local rc=$?
  grep -E '\[nccl-gpu\]|\[NcclSupportTest\]|tests (successful|failed|skipped|aborted)|UnsatisfiedLinkError|undefined symbol|EngineException|Exception:' \
    "$WORK/$name.log" | cut -c1-400 | head -60
  [[ $rc -eq 124 ]] && echo "($name: killed after $STEP_TIMEOUT s)"
  echo "($name: exit $rc, log $WORK/$name.log)"
  return $rc
}

# ---- 2. NCCL without DJL ----
if wants nccl; then
section "2. NCCL without DJL (LD_LIBRARY_PATH=$LD_LIBRARY_PATH)"
junit nccl-only --select-class io.tessera.parallel.nccl.NcclSupportTest \
  --select-method "$GPU_TEST#hostBuffersEveryTypeWithoutLoadingDjl" \
  --select-method "$GPU_TEST#aRankThatNeverJoinsMakesInitTimeOutAndAbort"

fi

# ---- 3. DJL against the machine's libtorch ----
section "3. DJL 0.35.1 (JNI built for PyTorch 2.7.1) against the machine's libtorch ${TORCH_VERSION:-?}"
DJL_FLAVOR=""
if [[ -n "$TORCH_DIR" && -e "$TORCH_DIR/lib/libtorch.so" ]]; then
  export PYTORCH_LIBRARY_PATH=$TORCH_DIR/lib PYTORCH_VERSION=2.7.1
  for flavor in cu128 cpu; do
    export PYTORCH_FLAVOR=$flavor
    rm -rf "$WORK/djl"
    echo "-- PYTORCH_LIBRARY_PATH=$PYTORCH_LIBRARY_PATH PYTORCH_VERSION=$PYTORCH_VERSION PYTORCH_FLAVOR=$flavor"
    junit "djl-$flavor" --select-class io.tessera.parallel.nccl.NcclTorchGpuTest
    if grep -q '\[ *1 tests successful' "$WORK/djl-$flavor.log"; then
      DJL_FLAVOR=$flavor
      echo "DJL LOADS with JNI flavor $flavor"
      break
    fi
    echo "DJL does not load (or was skipped) with JNI flavor $flavor"
  done
  [[ -z "$DJL_FLAVOR" ]] && PYTORCH_FLAVOR=cu128
else
  echo "no libtorch.so under ${TORCH_DIR:-<no torch found>}/lib: DJL cannot use a CUDA libtorch here"
fi

# ---- 4. every NCCL test ----
if wants nccl; then
section "4. all NCCL tests${DJL_FLAVOR:+ (DJL JNI flavor $DJL_FLAVOR)}"
ALL=()
for c in NcclSupportTest NcclTypesTest NcclPollerTest NcclUniqueIdsTest NcclUnavailableTest NcclTorchGpuTest NcclGpuTest; do
  ALL+=(--select-class "io.tessera.parallel.nccl.$c")
done
junit all "${ALL[@]}"

# ---- 5. table ----
section "5. results"
if [[ -n "$PY" ]]; then
  cat > "$WORK/table.py" <<'TABLE'
import glob, os, sys, xml.etree.ElementTree as ET
work = sys.argv[1]
rows = []
for step in ("nccl-only", "djl-cu128", "djl-cpu", "all"):
    for f in sorted(glob.glob(os.path.join(work, step, "*.xml"))):
        for case in ET.parse(f).getroot().iter("testcase"):
            result, msg = "pass", ""
            for tag in ("failure", "error", "skipped"):
                e = case.find(tag)
                if e is not None:
                    result = {"failure": "FAIL", "error": "ERROR", "skipped": "skip"}[tag]
                    msg = (e.get("message") or (e.text or "")).strip().splitlines()[0:1]
                    msg = msg[0][:150] if msg else ""
            name = case.get("classname", "").rsplit(".", 1)[-1] + "." + case.get("name", "").split("(")[0]
            rows.append((step, name, result, case.get("time", ""), msg))
w = max([len(r[1]) for r in rows] + [4])
print(f"| {'step':9} | {'test':{w}} | result | time s | message |")
print(f"|{'-'*11}|{'-'*(w+2)}|--------|--------|---------|")
for step, name, result, t, msg in rows:
    print(f"| {step:9} | {name:{w}} | {result:6} | {t:>6} | {msg} |")
TABLE
  "$PY" "$WORK/table.py" "$WORK"
else
  grep -hE 'tests (successful|failed|skipped)' "$WORK"/*.log
fi
echo
echo "collective rows:"
grep -h '^\[nccl-gpu\]' "$WORK/all.log" 2>/dev/null | sed 's/^\[nccl-gpu\] /  /' | sort -u
fi

# tessera ARGS... : the command line in the bundle's runtime, bounded by STEP_TIMEOUT, log in $WORK/<first arg>.log
tessera() {
  local log="$WORK/$1${TESSERA_LOG_SUFFIX:-}.log"
  timeout "$STEP_TIMEOUT" "$JAVA" "${JOPTS[@]}" -cp "$CP" io.tessera.cli.Tessera "$@" 2>&1 | tee "$log" | cut -c1-300
  local rc=${PIPESTATUS[0]}
  [[ $rc -eq 124 ]] && echo "($1: killed after $STEP_TIMEOUT s)"
  echo "($1: exit $rc, log $log)"
  return $rc
}

# ---- 6. a BERT training step on the GPU, beside PyTorch ----
if wants step; then
  section "6. BERT-base training step on cuda:0 beside PyTorch ${TORCH_VERSION:-?} (bench step --device cuda)"
  cd "$ROOT" || exit 2
  for precision in fp32 fp16; do
    TESSERA_LOG_SUFFIX=-$precision tessera bench step --device cuda --precision "$precision" --model bert-base \
      --batch 32 --seq 128 --steps 10 --warmup 3 --python "${PY:-python3}" --json "$WORK/step-$precision.json"
  done
fi

# ---- 7. pretraining on the GPU ----
if wants train; then
  section "7. BERT pretraining on cuda:0 (pretrain --device cuda)"
  cd "$ROOT" || exit 2
  tessera pretrain --device cuda --tp 1 --model bert-mini --steps 60 --warmup 10 --micro-batch 32 --global-batch 32 \
    --seq-length 128 --out "$WORK/pretrain" --overwrite
  [[ -f "$WORK/pretrain/metrics.jsonl" ]] && tail -n 3 "$WORK/pretrain/metrics.jsonl" | cut -c1-400
fi
