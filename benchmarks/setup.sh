#!/usr/bin/env bash
# Create benchmarks/.venv with monitoring_cog (editable) and the peers it is compared against.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python3 -m venv "$here/.venv"
"$here/.venv/bin/pip" install -q --upgrade pip
"$here/.venv/bin/pip" install -q -e "$here/.." -r "$here/requirements.txt"
echo "ready: $here/.venv/bin/python $here/hot_path.py --quick"
