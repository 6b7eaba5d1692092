#!/usr/bin/env bash
# Records the functions a worker runs into Deploy/link-order.txt, from which a release link places
# them next to each other (see `releaseLinking` in Package.swift): it runs billsync-transformer
# under callgrind over the transformer benchmark's input (start-up, then 6,000 records) and lists
# every function of the executable that ran, in the order callgrind first met it.
#   scripts/link-order.sh [--records N]
# Run it again after large changes to the workers; a stale list only costs memory.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$BILLSYNC_ROOT"

records=6000
[ "${1:-}" = --records ] && records="$2"

bash scripts/setup.sh valgrind binutils
use_broker

order="$BILLSYNC_ROOT/Deploy/link-order.txt"
# The release link reads the list, so a first recording starts from an empty one.
[ -f "$order" ] || : > "$order"
build_release billsync-bench billsync-extractor billsync-transformer
bin="$("${RELEASE_BUILD[@]}" --show-bin-path)"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"; stop_started_services' EXIT
# Valgrind cannot read the DWARF the toolchain writes; it needs only the symbol table.
strip --strip-debug -o "$scratch/billsync-transformer" "$bin/billsync-transformer"
ln -s "$bin/billsync-extractor" "$scratch/billsync-extractor"

log "running billsync-transformer under callgrind over $records records (a few minutes)"
"$bin/billsync-bench" transformer --records "$records" --bin-directory "$scratch" \
    --profile-under "$(command -v valgrind) --tool=callgrind --demangle=no --callgrind-out-file=$scratch/callgrind.out"

python3 - "$scratch/callgrind.out" "$scratch/billsync-transformer" "$order" <<'PY'
import re, subprocess, sys
profile, executable, output = sys.argv[1:]
# Callgrind names each function once, as `fn=(id) name` or `cfn=(id) name`, then by id alone.
ran, seen = [], set()
with open(profile, errors="replace") as lines:
    for line in lines:
        match = re.match(r"c?fn=\(\d+\) (\S+)$", line.rstrip("\n"))
        if match and match.group(1) not in seen:
            seen.add(match.group(1))
            ran.append(match.group(1))
symbols = subprocess.run(["nm", "--defined-only", executable], capture_output=True, text=True, check=True).stdout
functions = {fields[2] for fields in (line.split() for line in symbols.splitlines()) if len(fields) == 3 and fields[1] in "tTwW"}
listed = [name for name in ran if name in functions]
with open(output, "w") as out:
    out.write("\n".join(listed) + "\n")
print(f"[billsync] {len(listed)} of the executable's {len(functions)} functions ran; listed in {output}", file=sys.stderr)
PY
# SwiftPM does not know the list is an input of the link: removing the executables makes the
# next build link them again with it.
find "$bin" -maxdepth 1 -type f -name "billsync*" -delete
