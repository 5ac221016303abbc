# Shared by the benchmark scripts (sourced, not run).

# find_data SCRIPT FILE... : sets DATA (unless given) to the first of data, ../shared/data, shared/data holding
# every FILE, or exits naming what is missing.
find_data() {
  local script="$1"; shift
  if [ -z "${DATA:-}" ]; then
    local d f ok
    for d in data ../shared/data shared/data; do
      ok=1
      for f in "$@"; do [ -f "$d/$f" ] || ok=; done
      [ -n "$ok" ] && DATA="$d" && break
    done
  fi
  [ -n "${DATA:-}" ] || { echo "$script: $* not found under data/ or ../shared/data; set DATA" >&2; exit 1; }
}

# best METRICS_JSONL KEY : the largest value of KEY over the eval rows
best() {
  grep '"type":"eval"' "$1" | sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p" | sort -g | tail -1
}
