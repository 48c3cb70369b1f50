#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (libFuzzer + ASan + UBSan) in
# build-fuzz/ and runs them on scratch copies of their seed corpora in
# tests/fuzz/corpus/<name>/, so the repository is never modified
# (docs/fuzzing.md). Exits non-zero if any target crashes or breaks an
# invariant; the input is left in build-fuzz/crashes/<target>/ and the log
# in build-fuzz/fuzz-<target>.log.
#
#   tests/fuzz/run.sh [SECONDS]                 every target, SECONDS (default 60) split between them
#   tests/fuzz/run.sh --long SECONDS [TARGET..] each target (default: all) for SECONDS
#   tests/fuzz/run.sh --runs N [TARGET..]       each target for N executions
#   tests/fuzz/run.sh --keep DIR ...            keep each grown corpus in DIR/<name>/ (with --long/--runs)
#   tests/fuzz/run.sh --minimize TARGET DIR..   replace tests/fuzz/corpus/<name>/ with the minimal set
#                                               covering it and DIR.. (libFuzzer -merge=1)
#   tests/fuzz/run.sh --list                    the targets
# Environment: HAES_FUZZ_BUILD_DIR (default build-fuzz), HAES_JOBS (build jobs).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${HAES_FUZZ_BUILD_DIR:-build-fuzz}

# Target, corpus name, -max_len. The lengths cover what each decoder is
# given in the agent, or enough to reach every branch (the 8 KiB request
# header limit of the health port, the 4 KiB admin line).
targets=(
  "spoe_frame_fuzz spoe_frame 20000"
  "admin_fuzz admin 4200"
  "config_fuzz config 8192"
  "es_answer_fuzz es_answer 16384"
  "etcd_answer_fuzz etcd_answer 16384"
  "http_request_fuzz http_request 8300"
  "store_codec_fuzz store_codec 4096"
)

mode=split seconds=60 runs= keep= minimize=
selected=()
while [ $# -gt 0 ]; do
  case $1 in
    --long) mode=long seconds=${2:?--long SECONDS}; shift 2 ;;
    --runs) mode=runs runs=${2:?--runs N}; shift 2 ;;
    --keep) keep=${2:?--keep DIR}; shift 2 ;;
    --minimize) mode=minimize minimize=${2:?--minimize TARGET DIR..}; shift 2; break ;;
    --list) for t in "${targets[@]}"; do echo "${t%% *}"; done; exit 0 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    [0-9]*) seconds=$1; shift ;;
    *) selected+=("$1"); shift ;;
  esac
done
if [ $mode = split ] && [ ${#selected[@]} -gt 0 ]; then
  echo "run.sh: name targets only with --long or --runs" >&2
  exit 2
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S . -B "$build" -DHAES_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"${HAES_JOBS:-$(nproc)}" --target fuzz_targets >/dev/null

lookup() {  # lookup TARGET -> "target corpus max_len"
  for t in "${targets[@]}"; do
    if [ "${t%% *}" = "$1" ]; then echo "$t"; return 0; fi
  done
  echo "run.sh: no fuzz target $1 (run.sh --list)" >&2
  return 1
}

if [ $mode = minimize ]; then
  read -r target name _ <<<"$(lookup "$minimize")"
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  "$build/tests/fuzz/$target" -merge=1 "$out" "tests/fuzz/corpus/$name" "$@" 2>"$build/fuzz-$target-merge.log"
  rm -f "tests/fuzz/corpus/$name"/*
  cp "$out"/* "tests/fuzz/corpus/$name/"
  echo "fuzz: tests/fuzz/corpus/$name now holds $(ls "tests/fuzz/corpus/$name" | wc -l) inputs"
  exit 0
fi

list=()
if [ ${#selected[@]} -gt 0 ]; then
  for s in "${selected[@]}"; do list+=("$(lookup "$s")"); done
else
  list=("${targets[@]}")
fi
per=$seconds
if [ $mode = split ]; then
  per=$(( seconds / ${#list[@]} ))
  [ "$per" -ge 5 ] || per=5
  echo "fuzz: ${#list[@]} targets, ${per}s each (${seconds}s split)"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for t in "${list[@]}"; do
  read -r target name max_len <<<"$t"
  corpus="$work/$name"
  mkdir -p "$corpus" "$build/crashes/$target"
  cp "tests/fuzz/corpus/$name"/* "$corpus/"
  dict=()
  [ -f "tests/fuzz/dict/$name.dict" ] && dict=(-dict="tests/fuzz/dict/$name.dict")
  limit=(-max_total_time="$per")
  [ $mode = runs ] && limit=(-runs="$runs")
  log="$build/fuzz-$target.log"
  if "$build/tests/fuzz/$target" "${limit[@]}" -max_len="$max_len" -timeout=10 "${dict[@]}" \
       -artifact_prefix="$build/crashes/$target/" -print_final_stats=1 "$corpus" 2>"$log"; then
    runs_done=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -aE '^#[0-9]+.*(DONE|INITED)' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
    echo "fuzz: $target: ${runs_done:-?} runs, ${cov:-no coverage line}, corpus $(ls "$corpus" | wc -l), no crash"
  else
    status=1
    echo "fuzz: $target: CRASH, see $log and $build/crashes/$target/"
    grep -aE 'invariant broken|value:|ERROR: |SUMMARY|runtime error|Test unit written' "$log" | head -20 | sed 's/^/  /'
  fi
  if [ -n "$keep" ]; then
    mkdir -p "$keep/$name"
    cp "$corpus"/* "$keep/$name/"
  fi
done
[ $status = 0 ] && echo "fuzz: no crash"
exit $status
