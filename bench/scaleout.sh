#!/usr/bin/env bash
# Wall time of one recipe (language ID, ROOTS, PII, exact and band-sharded MinHash dedup; the 231-doc
# web sample split into two files, 2 tasks) on the local executor, a live one-node Slurm cluster
# (scripts/slurm_local.sh, submit -> queue empty -> summary) and a local Ray instance, one after the other.
# Usage (repo root, as root for slurmd): nice -n 15 bench/scaleout.sh [PYTHON]
set -euo pipefail
py="${1:-.venv/bin/python}"
work="$(mktemp -d /tmp/rootstock-scaleout.XXXXXX)"
trap 'scripts/slurm_local.sh stop "$work/slurm" >/dev/null 2>&1 || true' EXIT
"$py" - "$work" <<'PYEOF'
import gzip, sys
lines = gzip.open("tests/data/web_sample.jsonl.gz", "rt").readlines()
half = len(lines) // 2
for i, part in enumerate((lines[:half], lines[half:])):
    with gzip.open(f"{sys.argv[1]}/in_{i}.jsonl.gz", "wt") as f:
        f.writelines(part)
PYEOF
recipe() {  # $1 = kind
  cat >"$work/$1.yaml" <<YAML
name: scaleout
input: {format: jsonl, path: $work, glob: "in_*.jsonl.gz"}
steps:
  - language_id: {keep: [en, fr, es]}
  - roots_filters: {}
  - pii: {replace: tag}
  - exact_dedup: {}
  - minhash_dedup: {mode: sharded}
output: {path: $work/run_$1, keep_removed: true}
executor: {kind: $1, tasks: 2}
YAML
}
now() { date +%s.%N; }
for kind in local slurm ray; do recipe $kind; done
t0=$(now); "$py" -m rootstock.cli run "$work/local.yaml" --no-progress >/dev/null 2>&1; t1=$(now)
echo "local: $(python3 -c "print(round($t1 - $t0, 1))") s"
scripts/slurm_local.sh start "$work/slurm" >/dev/null
export SLURM_CONF="$work/slurm/slurm.conf"
t0=$(now); "$py" -m rootstock.cli run "$work/slurm.yaml" --no-progress >/dev/null 2>&1
while [[ -n "$(squeue -h)" ]]; do sleep 1; done
"$py" -m rootstock.cli run "$work/slurm.yaml" --no-progress >/dev/null 2>&1; t1=$(now)
echo "slurm: $(python3 -c "print(round($t1 - $t0, 1))") s"
scripts/slurm_local.sh stop "$work/slurm"
t0=$(now); "$py" -m rootstock.cli run "$work/ray.yaml" --no-progress >/dev/null 2>&1; t1=$(now)
echo "ray: $(python3 -c "print(round($t1 - $t0, 1))") s"
for kind in slurm ray; do
  if cmp -s <(cd "$work/run_local" && find output removed -type f -exec sh -c 'zcat "$1" | sha1sum' _ {} \; | sort) \
            <(cd "$work/run_$kind" && find output removed -type f -exec sh -c 'zcat "$1" | sha1sum' _ {} \; | sort); then
    echo "$kind output: identical to local"
  else
    echo "$kind output: DIFFERS from local"
  fi
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$work"
