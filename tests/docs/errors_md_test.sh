#!/bin/bash
# Checks the sample blocks of docs/errors.md against what weft prints now:
#   errors_md_test.sh ERROR_CATALOGUE ERRORS_MD
set -euo pipefail
exec "$1" --check "$2"
