#!/usr/bin/env bash
# Style and bug-pattern checks of the C++ sources (agent/, spoe/, tests/unit,
# tests/bench, tests/fuzz) against the root .clang-format and .clang-tidy.
#
#   scripts/lint.sh                   clang-format check + clang-tidy on the sources changed
#                                     since the baseline's commit (and every file including them)
#   scripts/lint.sh --all             clang-tidy on every source (about 12 min of CPU)
#   scripts/lint.sh --fix-format      rewrite every file with clang-format -i, nothing else
#   scripts/lint.sh --update-baseline clang-tidy on every source, then write its findings
#                                     to scripts/lint-baseline.txt (commit it with the sources)
#   --no-tidy / --no-format           skip one half
#
# clang-format: any file not formatted is a failure once the file
# .clang-format-enforced exists at the root; until then the files are listed
# and the run does not fail (the tree has not been reformatted yet).
#
# clang-tidy: a finding fails the run unless the baseline already has it. The
# baseline counts findings per (file, check), without line numbers, so edits
# elsewhere in a file do not churn it; a file that gets one more finding of a
# check than the baseline records fails. Needs the build's
# compile_commands.json (HAES_BUILD_DIR, default build/; scripts/build.sh
# makes it). Runs HAES_JOBS (default nproc) clang-tidy processes at once.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
src=$(pwd)
build=${HAES_BUILD_DIR:-build}
jobs=${HAES_JOBS:-$(nproc)}
baseline=scripts/lint-baseline.txt
mode=changed
do_format=1
do_tidy=1
fix_format=0
for a in "$@"; do
  case "$a" in
    --all) mode=all ;;
    --update-baseline) mode=update ;;
    --fix-format) fix_format=1 ;;
    --no-tidy) do_tidy=0 ;;
    --no-format) do_format=0 ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "lint: unknown argument '$a' (see scripts/lint.sh --help)" >&2; exit 2 ;;
  esac
done

for tool in clang-format clang-tidy; do
  command -v $tool >/dev/null || { echo "lint: $tool not found (scripts/setup.sh installs it)" >&2; exit 2; }
done

mapfile -t files < <(git ls-files -- 'agent/*' 'spoe/*' 'tests/unit/*' 'tests/bench/*' 'tests/fuzz/*' 'tests/integration/*' |
                     grep -E '\.(cpp|hpp|cc|h)$')

if [ $fix_format = 1 ]; then
  clang-format -i --style=file "${files[@]}"
  echo "lint: clang-format -i on ${#files[@]} files"
  exit 0
fi

status=0
start=$(date +%s)

if [ $do_format = 1 ]; then
  unformatted=()
  for f in "${files[@]}"; do
    if ! clang-format --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
      unformatted+=("$f")
    fi
  done
  if [ ${#unformatted[@]} -eq 0 ]; then
    echo "lint: clang-format: all ${#files[@]} files formatted"
  elif [ -f .clang-format-enforced ]; then
    echo "lint: clang-format: ${#unformatted[@]} files not formatted (scripts/lint.sh --fix-format rewrites them):"
    printf '  %s\n' "${unformatted[@]}"
    status=1
  else
    echo "lint: clang-format: ${#unformatted[@]} of ${#files[@]} files not formatted; NOT failing until" \
         ".clang-format-enforced exists (scripts/lint.sh --fix-format, then create it)"
  fi
fi

if [ $do_tidy = 0 ]; then
  exit $status
fi

db="$build/compile_commands.json"
if [ ! -f "$db" ]; then
  echo "lint: $db missing: run scripts/build.sh first" >&2
  exit 2
fi
# Generated headers (the state store's protobuf records) must exist.
cmake --build "$build" --target haes_proto >/dev/null

# Translation units: our .cpp files. Those in the compile database use its
# flags; the others (the fuzz targets, built only in the clang fuzz build) get
# the project's include paths.
mapfile -t db_files < <(/usr/bin/python3 -c '
import json, sys, os
for e in json.load(open(sys.argv[1])):
    print(os.path.relpath(os.path.join(e["directory"], e["file"]), sys.argv[2]))' "$db" "$src" | sort -u)
all_tus=()
for f in "${files[@]}"; do
  case "$f" in *.cpp|*.cc) all_tus+=("$f") ;; esac
done

# The baseline's commit: the last one that changed the baseline file (the
# baseline is committed with the .clang-tidy and sources it was made from).
base_commit=$(git log -1 --format=%H -- "$baseline" 2>/dev/null || true)
tus=()
if [ "$mode" = changed ] && [ -n "$base_commit" ] && git cat-file -e "$base_commit^{commit}" 2>/dev/null; then
  # Files changed since the baseline (committed or not), then every file that
  # includes one of them, to a fixed point.
  mapfile -t changed < <({ git diff --name-only "$base_commit" -- ; git ls-files --others --exclude-standard; } |
                         sort -u)
  # .clang-tidy itself changed: everything is affected. Otherwise a file is
  # affected when it changed or includes an affected header, to a fixed
  # point. An include names a header by some tail of its path (rooted at
  # agent/, spoe/include/, an include directory, or the file's own folder):
  # any tail counts, which may check a file too many, never one too few.
  mapfile -t tus < <(printf '%s\n' "${changed[@]}" | /usr/bin/python3 -c '
import re, sys
files = sys.argv[1:]
changed = set(l.strip() for l in sys.stdin if l.strip())
if ".clang-tidy" in changed:
    affected = set(files)
else:
    inc = re.compile(r"^\s*#\s*include\s*[<\"]([^>\"]+)[>\"]", re.M)
    includes = {}
    for f in files:
        try:
            includes[f] = set(inc.findall(open(f, errors="replace").read()))
        except OSError:
            includes[f] = set()
    affected = set(f for f in files if f in changed)
    grew = True
    while grew:
        grew = False
        tails = set()
        for h in affected:
            if h.endswith((".hpp", ".h")):
                parts = h.split("/")
                tails.update("/".join(parts[i:]) for i in range(len(parts)))
        for f in files:
            if f not in affected and includes[f] & tails:
                affected.add(f)
                grew = True
for f in files:
    if f in affected and f.endswith((".cpp", ".cc")):
        print(f)
' "${files[@]}")
  echo "lint: clang-tidy on ${#tus[@]} of ${#all_tus[@]} files (changed since the baseline's commit ${base_commit:0:12}," \
       "or including a changed header; --all checks every file)"
else
  tus=("${all_tus[@]}")
  echo "lint: clang-tidy on all ${#tus[@]} files"
fi

out=$(mktemp -d /tmp/haes-lint.XXXXXX)
trap 'rm -rf "$out"' EXIT
# clang 14 needs these to see Asio's coroutines (TOOLCHAIN.md); the database
# may come from a GCC build, whose warning flags clang may not know.
extra=(--extra-arg=-Wno-unknown-warning-option --extra-arg=-DBOOST_ASIO_HAS_CO_AWAIT
       --extra-arg=-DBOOST_ASIO_HAS_STD_COROUTINE)
fallback=(-- -std=c++20 -I"$src/agent" -I"$src/spoe/include" -DBOOST_ASIO_HAS_CO_AWAIT -DBOOST_ASIO_HAS_STD_COROUTINE)
printf '%s\n' "${db_files[@]}" > "$out/db-files"
if [ ${#tus[@]} -gt 0 ]; then
  export out build
  printf '%s\n' "${tus[@]}" | nl -ba -w1 -s' ' | xargs -P "$jobs" -L1 bash -c '
    n=$0; f=$1; shift 0
    if grep -qxF "$f" "$out/db-files"; then
      clang-tidy -p "$build" --quiet '"${extra[*]}"' "$f" > "$out/$n.log" 2>&1 || echo "$n $f" >> "$out/failed"
    else
      clang-tidy --quiet "$f" '"${fallback[*]}"' > "$out/$n.log" 2>&1 || echo "$n $f" >> "$out/failed"
    fi'
fi

if [ -s "$out/failed" ]; then
  echo "lint: clang-tidy could not check (compile errors):"
  while read -r n f; do
    echo "---- $f"
    grep -h -B2 -A3 "error:" "$out/$n.log" | head -40
  done < "$out/failed"
  status=1
fi

# Findings: "file<TAB>line<TAB>check<TAB>message", paths relative to the
# root, our files only, each once (a header's finding shows in every file
# that includes it).
cat /dev/null "$out"/*.log | /usr/bin/python3 -c '
import re, sys, os
src = sys.argv[1]
seen = set()
pat = re.compile(r"^(/[^:]+):(\d+):\d+: (?:warning|error): (.*) \[([^\]]+)\]$")
for line in sys.stdin:
    m = pat.match(line.rstrip("\n"))
    if not m:
        continue
    path = os.path.relpath(os.path.realpath(m.group(1)), src)
    if path.startswith("..") or not re.match(r"(agent|spoe|tests)/", path):
        continue
    key = (path, m.group(2), m.group(4))
    if key in seen:
        continue
    seen.add(key)
    print("\t".join([path, m.group(2), m.group(4), m.group(3)]))
' "$src" | sort -t$'\t' -k1,1 -k2,2n > "$out/findings"

if [ "$mode" = update ]; then
  {
    echo "# clang-tidy findings accepted at this commit, counted per file and check (scripts/lint.sh)."
    echo "# A run fails on a finding beyond these counts. Regenerate: scripts/lint.sh --update-baseline"
    echo "# Regenerated $(date -u +%F) on $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- || echo ' (plus uncommitted changes)'):" \
         "${#tus[@]} files, $(wc -l < "$out/findings") findings; a run re-checks only what changes after the commit of this file."
    cut -f1,3 "$out/findings" | sort | uniq -c | awk '{print $1" "$2" "$3}'
  } > "$baseline"
  echo "lint: baseline written: $(grep -vc '^#' "$baseline") file/check pairs, $(wc -l < "$out/findings") findings"
  echo "lint: $(( $(date +%s) - start )) s"
  exit $status
fi

# Compare with the baseline.
new=$(/usr/bin/python3 -c '
import sys, collections
base = collections.Counter()
try:
    for line in open(sys.argv[1]):
        if line.startswith("#") or not line.strip():
            continue
        n, f, c = line.split()
        base[(f, c)] = int(n)
except FileNotFoundError:
    pass
found = collections.defaultdict(list)
for line in open(sys.argv[2]):
    f, ln, c, msg = line.rstrip("\n").split("\t", 3)
    found[(f, c)].append((int(ln), msg))
for key, items in sorted(found.items()):
    if len(items) > base[key]:
        print(f"{key[0]}: {len(items)} [{key[1]}] finding(s), baseline {base[key]}:")
        for ln, msg in items:
            print(f"  {key[0]}:{ln}: {msg} [{key[1]}]")
' "$baseline" "$out/findings")
total=$(wc -l < "$out/findings")
if [ -n "$new" ]; then
  echo "lint: clang-tidy: NEW findings (fix them, or NOLINT with a reason):"
  echo "$new"
  status=1
else
  echo "lint: clang-tidy: no new finding ($total known ones in the checked files, all in $baseline)"
fi
echo "lint: $(( $(date +%s) - start )) s"
exit $status
