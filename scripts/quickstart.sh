#!/usr/bin/env bash
# One command on a fresh machine: install, ingest the sample corpus, run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export VEILLE_DATA_DIR=${VEILLE_DATA_DIR:-data}
.venv/bin/veille ingest examples/articles
.venv/bin/veille search "qui dirige la délégation russe ?" -k 3
.venv/bin/veille ask "Qui dirige la délégation russe ?"
