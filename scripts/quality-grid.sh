#!/usr/bin/env bash
# The grid behind README "Quality": synthetic traces x epochs, the default MAM model and its MAC
# twin, one thread each in two lanes (run `bash scripts/quality-grid.sh 0 &` and `... 1 &`, from
# the project root, after `npm install`). Resumable: a run whose summary exists is skipped.
# Writes scratch/quality/NAME.json (git-ignored): the `mam train --json` summary and the test ASNR.
set -u
cd "$(dirname "$0")/.."
LANE=${1:?give the lane: 0 or 1}
OUT=scratch/quality
mkdir -p "$OUT/models"
i=0
for rec in 100 300 600; do for ep in 60 120 240; do for kind in mam mac; do
  i=$((i + 1)); [ $((i % 2)) -eq "$LANE" ] || continue
  name="r${rec}-e${ep}-${kind}"
  [ -f "$OUT/$name.json" ] && continue
  node bin/mam.js train --kind "$kind" --synth-records "$rec" --epochs "$ep" --threads 1 \
    --out "$OUT/models/$name" --json > "$OUT/$name.train.json" 2> "$OUT/$name.log" || { echo "$name failed" >> "$OUT/failures.txt"; continue; }
  node bin/mam.js eval --model "$OUT/models/$name" --json > "$OUT/$name.eval.json" 2>> "$OUT/$name.log"
  node -e "
    const fs = require('fs');
    const train = JSON.parse(fs.readFileSync('$OUT/$name.train.json', 'utf8'));
    const test = JSON.parse(fs.readFileSync('$OUT/$name.eval.json', 'utf8')).asnr_db;
    fs.writeFileSync('$OUT/$name.json', JSON.stringify({ name: '$name', records: $rec, epochs: $ep, kind: '$kind', train, test_asnr_db: test }) + '\n');"
done; done; done
