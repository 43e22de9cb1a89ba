#!/usr/bin/env bash
# Validates Docs/openapi.yaml with an independent OpenAPI 3.1 validator from PyPI (pinned), installing it if needed.
# The Swift tests separately check that the document lists exactly the routes the node serves.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v python3 >/dev/null 2>&1; then
    echo "check-openapi: python3 not found; skipping the OpenAPI schema validation" >&2
    exit 0
fi
if ! python3 -c "import openapi_spec_validator" >/dev/null 2>&1; then
    pkg=openapi-spec-validator==0.7.2
    pipq=(python3 -m pip install --quiet --disable-pip-version-check)
    # A Debian system python refuses plain installs (PEP 668); fall back to a user install that is allowed past it.
    "${pipq[@]}" "$pkg" >/dev/null 2>&1 \
        || "${pipq[@]}" --user "$pkg" >/dev/null 2>&1 \
        || "${pipq[@]}" --user --break-system-packages "$pkg"
fi
python3 - <<'PY'
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
spec, _ = read_from_filename("Docs/openapi.yaml")
validate(spec)
print("Docs/openapi.yaml: valid OpenAPI", spec["openapi"], "with", len(spec["paths"]), "paths")
PY
