#!/usr/bin/env bash
# Installs the independent FHIR validator the tests use (fhir.resources, R4B and R5 models) and the package carrying
# the MII consent examples (genomde-consent-check), pinned in Tests/FHIR/requirements.txt, into .build/fhir-venv.
# `make test` runs it; the FHIR tests fail with a pointer here when the environment is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/fhir-venv
requirements=Tests/FHIR/requirements.txt
stamp="$venv/.requirements"
if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp" 2>/dev/null; then exit 0; fi
if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
    sudo=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo="sudo"
    echo "fhir-venv: installing python3-venv"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
rm -rf "$venv"
mkdir -p .build
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check --no-deps -r "$requirements"
"$venv/bin/python" -c "import fhir.resources.R4B, fhir.resources.consent, genomde_consent_check"
cp "$requirements" "$stamp"
echo "fhir-venv: $(grep -c '==' "$requirements") pinned packages in $venv"
