#!/usr/bin/env bash
# The commit a measurement ran at, as the JSON of a README figure records it (scripts/figures.ts):
# the short HEAD, with "+changes" when tracked files other than results and docs differ from it
# (measuring several figures in a row writes results between runs), "unknown" without git.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=$(git rev-parse --short HEAD 2>/dev/null) || { echo unknown; exit 0; }
if [[ -n $(git status --porcelain --untracked-files=no -- ":/" ":(exclude,glob,top)**/results/**" ":(exclude,glob,top)**/*.md") ]]; then
  rev="$rev+changes"
fi
echo "$rev"
