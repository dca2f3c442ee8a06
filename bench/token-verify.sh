#!/usr/bin/env bash
# Token verification, Gatehouse vs PyJWT, in one run on one machine: the criterion bench of
# crates/token (benches/verify.rs) and bench/pyjwt_verify.py over the same Entra-ID-like claim
# set, then one table of per-verify medians with the ratio.
#   bench/token-verify.sh            # full run (a few minutes: release build + criterion)
#   QUICK=1 bench/token-verify.sh    # shorter criterion and timeit runs, noisier figures
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=/usr/bin/python3 # Debian's python3-jwt lives here, not in a pyenv interpreter on PATH
if ! "$PYTHON" -c 'import jwt, cryptography' 2>/dev/null; then
  echo "PyJWT missing: apt-get install python3-jwt python3-cryptography" >&2
  exit 1
fi

target_dir=$(cargo metadata --format-version 1 --no-deps |
  "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
touch "$scratch/started"

criterion_args=()
python_args=()
if [[ -n "${QUICK:-}" ]]; then
  criterion_args=(--warm-up-time 1 --measurement-time 2)
  python_args=(--repeat 5 --seconds 0.1)
fi

echo "== Gatehouse: cargo bench -p gatehouse-token --bench verify"
cargo bench -p gatehouse-token --bench verify -- "${criterion_args[@]}"

echo
echo "== PyJWT: bench/pyjwt_verify.py"
"$PYTHON" bench/pyjwt_verify.py --json "$scratch/pyjwt.json" "${python_args[@]}"

echo
echo "== $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%dT%H:%MZ)"
"$PYTHON" bench/token_verify_table.py --criterion "$target_dir/criterion" \
  --since "$scratch/started" --pyjwt "$scratch/pyjwt.json"
