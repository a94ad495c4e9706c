#!/usr/bin/env bash
# One command on a fresh machine: install, ingest the sample corpus, answer the example question,
# then run the service on it (web page + API) until Ctrl-C. QUICKSTART_NO_SERVE=1 stops before serving.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export VEILLE_DATA_DIR=${VEILLE_DATA_DIR:-data}
.venv/bin/veille ingest examples/articles
.venv/bin/veille search "qui dirige la délégation russe ?" -k 3
.venv/bin/veille ask "Qui dirige la délégation russe ?"
if [ "${QUICKSTART_NO_SERVE:-}" != "1" ]; then
  exec .venv/bin/veille serve
fi
