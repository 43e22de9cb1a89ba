#!/usr/bin/env bash
# make run: a local single-validator TwinLedger node with a scripted consent demo, kept running until Ctrl-C.
# The node home is ./.twinledger/node0 (recreated on each run); the demo's keys are in ./.twinledger/wallet.
set -euo pipefail
cd "$(dirname "$0")/.."
T=.build/release/twinledger
BASE=.twinledger
PORT=${TWINLEDGER_PORT:-26657}
export TWINLEDGER_NODE="http://127.0.0.1:$PORT"

rm -rf "$BASE"
mkdir -p "$BASE/wallet"
$T node init --home "$BASE/node0" --port "$PORT" --chain-id twinledger-local --organization HOSP_A > "$BASE/init.log"
$T node start --home "$BASE/node0" > "$BASE/node0.log" 2>&1 &
NODE_PID=$!
cleanup() {
    if kill -0 "$NODE_PID" 2>/dev/null; then
        kill -TERM "$NODE_PID"
        wait "$NODE_PID" 2>/dev/null || true
        echo "node stopped cleanly."
    fi
}
trap cleanup EXIT INT TERM
for _ in $(seq 1 100); do
    curl -sf "$TWINLEDGER_NODE/health" > /dev/null 2>&1 && break
    sleep 0.1
done
curl -sf "$TWINLEDGER_NODE/health" > /dev/null || { echo "node did not start; see $BASE/node0.log"; exit 1; }

ORG="$BASE/node0/keys/organization-HOSP_A.key"
W="$BASE/wallet"
step() { echo; echo "== $*"; }
for who in patient neurologist radiologist caregiver; do
    role=practitioner
    [ "$who" = patient ] && role=patient
    [ "$who" = caregiver ] && role=caregiver
    $T keys new --out "$W/$who.key" --role "$role" > /dev/null
done

step "HOSP_A enrolls a patient, two practitioners and a caregiver"
PATIENT_ID=$($T enroll --key "$ORG" --key-file-to-enroll "$W/patient.key" --role patient | tee /dev/stderr | awk '/patient id/ {print $3}')
$T enroll --key "$ORG" --key-file-to-enroll "$W/neurologist.key" --role practitioner
$T enroll --key "$ORG" --key-file-to-enroll "$W/radiologist.key" --role practitioner
$T enroll --key "$ORG" --key-file-to-enroll "$W/caregiver.key" --role caregiver

step "The patient registers an encrypted MRI shadow (its content address goes on the ledger)"
MANIFEST=$(printf 'demo encrypted manifest' | sha256sum | cut -c1-64)
$T shadow register --key "$W/patient.key" --categories neuro.mri --manifest "$MANIFEST" --size 1048576

step "The patient grants the neurologist read access to neuro data for treatment, 30 days"
GRANT=$($T consent grant --key "$W/patient.key" --to-key-file "$W/neurologist.key" --categories neuro --purpose TREAT --days 30 | tee /dev/stderr | awk '/transaction/ {print $2}')

step "The radiologist tries to grant itself access: refused"
$T consent grant --key "$W/radiologist.key" --patient "$PATIENT_ID" --to-key-file "$W/radiologist.key" --categories neuro || true

step "The patient delegates consent management for neuro data to the caregiver"
$T delegate grant --key "$W/patient.key" --to-key-file "$W/caregiver.key" --powers grant,revoke --categories neuro

step "The caregiver grants the radiologist read access to the MRI category"
$T consent grant --key "$W/caregiver.key" --patient "$PATIENT_ID" --to-key-file "$W/radiologist.key" --categories neuro.mri --days 7

step "The patient revokes the neurologist's grant"
$T consent revoke --key "$W/patient.key" --grant "$GRANT"

step "The patient's grants and complete, hash-chained history"
$T consent list --patient "$PATIENT_ID"
$T history --patient "$PATIENT_ID"

step "Proof that the revocation is in the chain"
$T tx status "$($T history --patient "$PATIENT_ID" --json | python3 -c 'import json,sys; print([e["transaction"] for e in json.load(sys.stdin)["entries"] if e["kind"]=="consent.revoke"][0])')"

cat <<INFO

TwinLedger is running (one validator; the 4-node consortium comes with the consensus and network releases).
  API       $TWINLEDGER_NODE/v1   (Docs/openapi.yaml)   e.g. curl $TWINLEDGER_NODE/v1/blocks/latest
  health    $TWINLEDGER_NODE/health
  metrics   $TWINLEDGER_NODE/metrics
  patient   $PATIENT_ID
  node home $BASE/node0 (log: $BASE/node0.log), demo keys in $W
  CLI       TWINLEDGER_NODE=$TWINLEDGER_NODE $T --help
Press Ctrl-C to stop the node.
INFO
if [ "${TWINLEDGER_DEMO_EXIT:-0}" = 1 ]; then exit 0; fi
wait "$NODE_PID"
