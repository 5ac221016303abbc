#!/usr/bin/env bash
# BiLSTM distillation benchmark (a measurement, not a test): Tang et al. (2019) on SST-2. A fine-tuned
# BERT teacher labels the training sentences plus their augmented copies (masking, same-part-of-speech
# replacement, n-grams); a small BiLSTM learns the teacher's logits (MSE). The same student trained on
# the gold labels alone is the baseline. Prints teacher and student dev accuracies, parameter counts,
# dev throughputs (sentences/s, same batch size and threads, one process) and the issue's targets:
#   distilled − baseline ≥ 0.02 dev accuracy;  teacher / student parameters ≥ 10;  student / teacher throughput ≥ 10.
#
#   benchmarks/distill/bilstm.sh                                   # TEACHER=runs/bench-finetune/sst2/model
#   TEACHER=/path/model SAMPLE=0 ITER=10 MAX_TRANSFER=0 benchmarks/distill/bilstm.sh   # the whole training set
#
# SAMPLE training sentences (default 10000, drawn with a fixed seed; 0: all 67,349) keep each run
# under about 10 minutes on a 2-core machine: the teacher labels about 150-1300 sentences/s there
# (depending on the load), so the paper's full transfer set (67k × 20 copies) would take hours.
# Both students see the same sample; the baseline's only data is that sample, the distilled student's
# is the sample and its copies (at most MAX_TRANSFER sentences in all, default 60000).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
TEACHER="${TEACHER:-runs/bench-finetune/sst2/model}"
source "$root/benchmarks/common.sh"
find_data bilstm.sh sst-2/train.tsv
[ -f "$TEACHER/config.json" ] || { echo "bilstm.sh: no teacher at $TEACHER; run benchmarks/finetune/run.sh or set TEACHER" >&2; exit 1; }
WORK="${WORK:-runs/bench-distill-bilstm}"
SAMPLE="${SAMPLE:-10000}"
ITER="${ITER:-10}"
MAX_TRANSFER="${MAX_TRANSFER:-60000}"
EPOCHS="${EPOCHS:-3}"
BASELINE_EPOCHS="${BASELINE_EPOCHS:-10}"
THREADS="${THREADS:-$(nproc)}"
mkdir -p "$WORK"

train="$DATA/sst-2/train.tsv"
if [ "$SAMPLE" != "0" ]; then
  train="$WORK/train-sample.tsv"
  { head -1 "$DATA/sst-2/train.tsv"
    tail -n +2 "$DATA/sst-2/train.tsv" | awk 'BEGIN { srand(17) } { print rand() "\t" $0 }' | sort -k1,1 -g | cut -f2- | awk -v n="$SAMPLE" 'NR <= n'
  } > "$train"
fi

distill=(bin/tessera distill bilstm)

common=(--teacher "$TEACHER" --train "$train" --dev "$DATA/sst-2/dev.tsv" --threads "$THREADS" --overwrite)
with=("${distill[@]}" "${common[@]}" --out "$WORK/distilled" --augment-iterations "$ITER" --max-transfer "$MAX_TRANSFER"
      --epochs "$EPOCHS")
without=("${distill[@]}" "${common[@]}" --out "$WORK/baseline" --no-distill --epochs "$BASELINE_EPOCHS")
run() { # name, command...
  local name="$1"; shift
  echo "+ $*"
  local start; start=$(date +%s)
  "$@" 2>&1 | tee "$WORK/$name.log"
  echo "$name: $(( $(date +%s) - start )) s"
}
run distilled "${with[@]}"
run baseline "${without[@]}"

field() { # log, sed expression → first match
  sed -n "$2" "$1" | sed -n 1p
}
d_acc=$(field "$WORK/distilled.log" 's/^best dev accuracy \([0-9.]*\).*/\1/p')
b_acc=$(field "$WORK/baseline.log" 's/^best dev accuracy \([0-9.]*\).*/\1/p')
s_par=$(field "$WORK/distilled.log" 's/^best dev accuracy.*student \([0-9,]*\) parameters.*/\1/p' | tr -d ,)
s_rate=$(field "$WORK/distilled.log" 's/^best dev accuracy.* \([0-9]*\) sentences\/s.*/\1/p')
t_acc=$(field "$WORK/distilled.log" 's/^teacher .*: dev accuracy \([0-9.]*\),.*/\1/p')
t_par=$(field "$WORK/distilled.log" 's/^teacher .*, \([0-9,]*\) parameters.*/\1/p' | tr -d ,)
t_rate=$(field "$WORK/distilled.log" 's/^teacher .* parameters, \([0-9]*\) sentences\/s.*/\1/p')
transfer=$(field "$WORK/distilled.log" 's/.*transfer set \([0-9]*\),.*/\1/p')
echo
echo "SST-2 dev, $(($(wc -l < "$train") - 1)) training sentences, transfer set $transfer, $THREADS threads"
awk -v ta="$t_acc" -v da="$d_acc" -v ba="$b_acc" -v tp="$t_par" -v sp="$s_par" -v tr="$t_rate" -v sr="$s_rate" 'BEGIN {
  printf "teacher              dev accuracy %.4f  %9d parameters  %8.0f sentences/s\n", ta, tp, tr
  printf "student, distilled   dev accuracy %.4f  %9d parameters  %8.0f sentences/s\n", da, sp, sr
  printf "student, gold only   dev accuracy %.4f\n", ba
  printf "distilled - gold only   %+.4f   target >= +0.02   %s\n", da - ba, (da - ba >= 0.02 ? "MET" : "NOT MET")
  printf "teacher / student parameters   %.1fx   target >= 10x   %s\n", tp / sp, (tp / sp >= 10 ? "MET" : "NOT MET")
  printf "student / teacher throughput   %.1fx   target >= 10x   %s\n", sr / tr, (sr / tr >= 10 ? "MET" : "NOT MET")
}'
echo "commands:"
echo "  ${with[*]}"
echo "  ${without[*]}"
