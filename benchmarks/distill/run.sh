#!/usr/bin/env bash
# Distillation benchmark (a measurement, not a test), on SST-2 dev:
#   1. DistilBERT's recipe: the fine-tuning benchmark's pretrained bert-mini (2 layers) is distilled into a DistilBERT
#      student with half its layers (1), initialised from the teacher's even layers, on the teacher's pretraining
#      corpus; teacher and student are then fine-tuned on SST-2 with the same command. Target: the student within
#      3 points of its teacher.
#   2. Tang et al.'s task-specific distillation of the fine-tuned teacher into a BiLSTM (benchmarks/distill/bilstm.sh).
#
#   benchmarks/distill/run.sh                        # runs benchmarks/finetune/run.sh first if its outputs are missing
#   FT_WORK=runs/bench-finetune WORK=runs/bench-distill DISTILL_STEPS=1500 benchmarks/distill/run.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
FT_WORK="${FT_WORK:-runs/bench-finetune}"
WORK="${WORK:-runs/bench-distill}"
DISTILL_STEPS="${DISTILL_STEPS:-1500}"
SST2_STEPS="${SST2_STEPS:-2500}"
source "$root/benchmarks/common.sh"
find_data run.sh sst-2/train.tsv
if [ ! -f "$FT_WORK/pretrain/model/model.safetensors" ] || [ ! -f "$FT_WORK/sst2/model/model.safetensors" ] \
   || [ ! -f "$FT_WORK/corpus/valid.txt" ]; then
  WORK="$FT_WORK" benchmarks/finetune/run.sh
fi
mkdir -p "$WORK"

params() { # model dir -> parameter count from the safetensors header
  python3 - "$1/model.safetensors" <<'PY' 2>/dev/null || echo "?"
import json, struct, sys
with open(sys.argv[1], 'rb') as f:
    n = struct.unpack('<Q', f.read(8))[0]
    h = json.loads(f.read(n))
total = 0
for k, v in h.items():
    if k != '__metadata__':
        c = 1
        for d in v['shape']:
            c *= d
        total += c
print(total)
PY
}

distill=(bin/tessera distill distilbert --teacher "$FT_WORK/pretrain/model" --data "$FT_WORK/corpus" --out "$WORK/distilbert"
         --overwrite --steps "$DISTILL_STEPS" --warmup 100)
echo "+ ${distill[*]}"
start=$(date +%s); "${distill[@]}"; distill_s=$(( $(date +%s) - start ))

finetune() { # model dir, out
  bin/tessera finetune --model-dir "$1" --task sequence-classification --train "$DATA/sst-2/train.tsv" --dev "$DATA/sst-2/dev.tsv" \
    --out "$2" --overwrite --max-steps "$SST2_STEPS" --eval-every 250 --lr 5e-4 --global-batch 32 --max-length 64 --dropout 0.1
}
echo "+ finetune $WORK/distilbert/model (the fine-tuning benchmark's SST-2 command)"
start=$(date +%s); finetune "$WORK/distilbert/model" "$WORK/student-sst2"; student_s=$(( $(date +%s) - start ))

teacher_acc=$(best "$FT_WORK/sst2/metrics.jsonl" accuracy)
student_acc=$(best "$WORK/student-sst2/metrics.jsonl" accuracy)
echo
echo "== DistilBERT distillation ($(nproc) cores; $DISTILL_STEPS distillation steps in ${distill_s} s, fine-tuning ${student_s} s) =="
awk -v t="$teacher_acc" -v s="$student_acc" -v tp="$(params "$FT_WORK/sst2/model")" -v sp="$(params "$WORK/student-sst2/model")" \
  -v tl="$(grep -o '"num_hidden_layers": *[0-9]*' "$FT_WORK/sst2/model/config.json" | grep -o '[0-9]*$')" \
  -v sl="$(grep -o '"n_layers": *[0-9]*' "$WORK/student-sst2/model/config.json" | grep -o '[0-9]*$')" 'BEGIN {
  printf "teacher  (BERT, %s layers, %s parameters)        SST-2 dev accuracy %.4f\n", tl, tp, t
  printf "student  (DistilBERT, %s layers, %s parameters)  SST-2 dev accuracy %.4f\n", sl, sp, s
  printf "gap %.2f points (target <= 3.00): %s\n", (t - s) * 100, ((t - s) * 100 <= 3 ? "MET" : "NOT MET") }'
echo "  commands: ${distill[*]}"
echo "            bin/tessera finetune --model-dir $WORK/distilbert/model --task sequence-classification --train $DATA/sst-2/train.tsv --dev $DATA/sst-2/dev.tsv --out $WORK/student-sst2 --overwrite --max-steps $SST2_STEPS --eval-every 250 --lr 5e-4 --global-batch 32 --max-length 64 --dropout 0.1"
if [ -x benchmarks/distill/bilstm.sh ]; then
  echo
  TEACHER="$FT_WORK/sst2/model" DATA="$DATA" WORK="$WORK" benchmarks/distill/bilstm.sh
fi
