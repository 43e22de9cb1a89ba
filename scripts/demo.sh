#!/usr/bin/env bash
# make run: the local consortium of Network/local.json (four validators: three hospitals and an attribute authority;
# two followers: a second authority and a research institute) on 127.0.0.1, a scripted consent demo through the CLI
# against one hospital's node, then the consortium keeps running until Ctrl-C, which stops every node cleanly.
# Homes and logs are in ./.twinledger/consortium (recreated on each run); the demo's keys in ./.twinledger/wallet.
set -euo pipefail
cd "$(dirname "$0")/.."
T=.build/release/twinledger
BASE=.twinledger
export TWINLEDGER_HOME="$BASE/consortium"
C="$TWINLEDGER_HOME"
PORT=26657
export TWINLEDGER_NODE="http://127.0.0.1:$PORT"

Network/local.sh stop 2>/dev/null || true
rm -rf "$BASE"
mkdir -p "$BASE/wallet"
Network/local.sh init > "$BASE/init.log"
sed -n '1,2p;4,10p' "$BASE/init.log"
cleanup() {
    echo
    echo "stopping the consortium..."
    Network/local.sh stop
    echo "every node stopped cleanly (logs in $C/*.log)."
}
trap cleanup EXIT
trap 'exit 130' INT TERM
Network/local.sh start
echo
echo "== The consortium is up"
sleep 2
Network/local.sh status

ORG="$C/hosp-a/keys/organization-HOSP_A.key"
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

step "The patient encrypts an MRI file on this machine, uploads it to hosp-a and registers it as a shadow"
head -c 3000000 /dev/urandom > "$W/mri.bin"
SHADOW=$($T shadow put --key "$W/patient.key" --categories neuro.mri "$W/mri.bin" \
    | tee /dev/stderr | awk '/shadow id/ {print $3}' | tr -d ,)

step "The patient grants the neurologist read access to neuro data for treatment, 30 days (the grant carries the MRI's data key, wrapped for the neurologist)"
GRANT=$($T consent grant --key "$W/patient.key" --to-key-file "$W/neurologist.key" --categories neuro --purpose TREAT --days 30 | tee /dev/stderr | awk '/transaction/ {print $2}')

step "The neurologist reads the shadow from hosp-b's node (replicated there) and decrypts it on their machine"
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if $T shadow get --key "$W/neurologist.key" --shadow "$SHADOW" --purpose TREAT --out "$W/mri-neurologist.bin" \
        --node http://127.0.0.1:26658 2>/dev/null; then break; fi
    sleep 1
done
cmp -s "$W/mri.bin" "$W/mri-neurologist.bin" && echo "  identical to the patient's file"

step "The radiologist tries to grant itself access: refused"
$T consent grant --key "$W/radiologist.key" --patient "$PATIENT_ID" --to-key-file "$W/radiologist.key" --categories neuro --without-keys || true

step "The patient delegates consent management for neuro data to the caregiver"
$T delegate grant --key "$W/patient.key" --to-key-file "$W/caregiver.key" --powers grant,revoke --categories neuro

step "The caregiver grants the radiologist read access to the MRI category (a delegate holds no data key to pass on)"
$T consent grant --key "$W/caregiver.key" --patient "$PATIENT_ID" --to-key-file "$W/radiologist.key" --categories neuro.mri --days 7

step "The patient revokes the neurologist's grant"
$T consent revoke --key "$W/patient.key" --grant "$GRANT"

step "After the revocation, the neurologist's read is refused by every node"
$T shadow get --key "$W/neurologist.key" --shadow "$SHADOW" --purpose TREAT --out "$W/mri-again.bin" --node http://127.0.0.1:26659 || true

step "Two attribute authorities publish their ABE keys on the ledger: AUTH_CARDIO (cardiologist, staff) and AUTH_NEURO (neurologist)"
$T keys new --out "$W/cardio-authority.key" --role authority > /dev/null
$T keys new --out "$W/neuro-authority.key" --role authority > /dev/null
$T keys new --out "$W/cardiologist.key" --role practitioner > /dev/null
$T enroll --key "$C/auth-cardio/keys/organization-AUTH_CARDIO.key" --key-file-to-enroll "$W/cardio-authority.key" --role authority > /dev/null
$T enroll --key "$C/auth-neuro/keys/organization-AUTH_NEURO.key" --key-file-to-enroll "$W/neuro-authority.key" --role authority > /dev/null
$T enroll --key "$ORG" --key-file-to-enroll "$W/cardiologist.key" --role practitioner > /dev/null
$T authority init --key "$W/cardio-authority.key" --attributes cardiologist,staff --out "$W/cardio-epoch1.abe"
$T authority init --key "$W/neuro-authority.key" --attributes neurologist --out "$W/neuro-epoch1.abe"

step "AUTH_CARDIO issues the cardiologist the keys of AUTH_CARDIO.cardiologist and AUTH_CARDIO.staff (their digests go on the ledger)"
for attribute in cardiologist staff; do
    $T authority issue-key --key "$W/cardio-authority.key" --secret "$W/cardio-epoch1.abe" --user-key-file "$W/cardiologist.key" \
        --attr "$attribute" --out "$W/cardiologist-$attribute.abekey"
done

POLICY="(AUTH_CARDIO.cardiologist and AUTH_CARDIO.staff) or AUTH_NEURO.neurologist"
step "The patient wraps an ECG's key under \"$POLICY\" and grants that policy read access"
head -c 200000 /dev/urandom > "$W/ecg.bin"
ECG=$($T shadow put --key "$W/patient.key" --categories cardio.ecg --policy "$POLICY" "$W/ecg.bin" \
    | tee /dev/stderr | awk '/shadow id/ {print $3}' | tr -d ,)
$T consent grant --key "$W/patient.key" --policy "$POLICY" --categories cardio --purpose TREAT --days 30

step "The cardiologist reads it with their attribute keys, on auth-cardio's node; the radiologist, with none, is refused"
KEYS="$W/cardiologist-cardiologist.abekey,$W/cardiologist-staff.abekey"
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if $T shadow get --key "$W/cardiologist.key" --shadow "$ECG" --purpose TREAT --attribute-keys "$KEYS" \
        --out "$W/ecg-cardiologist.bin" --node http://127.0.0.1:26660 2>/dev/null; then break; fi
    sleep 1
done
cmp -s "$W/ecg.bin" "$W/ecg-cardiologist.bin" && echo "  identical to the patient's file"
$T shadow get --key "$W/radiologist.key" --shadow "$ECG" --purpose TREAT --out "$W/ecg-radiologist.bin" || true

step "AUTH_CARDIO rotates to epoch 2: the ECG's envelope is left on epoch 1 until the patient re-wraps it"
$T authority rotate --key "$W/cardio-authority.key" --out "$W/cardio-epoch2.abe"
sleep 1
curl -s "$TWINLEDGER_NODE/metrics" | grep '^twinledger_abe_envelopes_stale'
$T shadow rewrap --key "$W/patient.key"
curl -s "$TWINLEDGER_NODE/metrics" | grep '^twinledger_abe_envelopes_stale'

step "The patient rotates their key: the old key signs the new one onto the ledger; grants, shadows and history stay"
$T keys rotate --key "$W/patient.key" --out "$W/patient-2.key"
echo "  the old key is refused from now on:"
$T delegate grant --key "$W/patient.key" --to-key-file "$W/radiologist.key" --powers grant --categories neuro 2>&1 | sed 's/^/  /' || true
$T shadow get --key "$W/patient-2.key" --previous-keys "$W/patient.key" --shadow "$SHADOW" --out "$W/mri-patient.bin"
cmp -s "$W/mri.bin" "$W/mri-patient.bin" && echo "  the MRI stored before the rotation opens with the new key (and the old key file)"

step "hosp-b rotates its validator's consensus key: the new key votes from the height printed, with no restart"
$T validator rotate-key --home "$C/hosp-b" --node http://127.0.0.1:26658
sleep 4
grep -h "another consensus key" "$C/hosp-b.log" | tail -1 | cut -c1-160 || true

step "The patient's grants and complete, hash-chained history"
$T consent list --patient "$PATIENT_ID"
$T history --patient "$PATIENT_ID"

step "Proof that the revocation is in the chain"
$T tx status "$($T history --patient "$PATIENT_ID" --json | python3 -c 'import json,sys; print([e["transaction"] for e in json.load(sys.stdin)["entries"] if e["kind"]=="consent.revoke"][0])')"

REVOKED_AT=$($T tx status "$($T history --patient "$PATIENT_ID" --json | python3 -c 'import json,sys; print([e["transaction"] for e in json.load(sys.stdin)["entries"] if e["kind"]=="consent.revoke"][0])')" | awk '/committed in block/ {print $NF}')
step "Every node, validators and followers, has the revocation's block $REVOKED_AT: one hash, one state root"
sleep 1
Network/local.sh block "$REVOKED_AT"

step "An auditor, trusting only the genesis file, verifies the patient's whole history and accesses on three nodes"
$T keys new --out "$W/auditor.key" --role auditor > /dev/null
$T enroll --key "$ORG" --key-file-to-enroll "$W/auditor.key" --role auditor > /dev/null
sleep 11  # the nodes anchor their access logs every 10 s
$T audit verify --genesis "$C/hosp-a/genesis.json" --patient "$PATIENT_ID" --key "$W/auditor.key" \
    --node http://127.0.0.1:26657 --node http://127.0.0.1:26658 --node http://127.0.0.1:26661 || true
echo
Network/local.sh status

cat <<INFO

TwinLedger's local consortium is running: hosp-a, hosp-b, hosp-c and auth-cardio validate (BFT, Tendermint);
auth-neuro and research follow the chain by block sync. Ports and layout: Network/README.md.
  explorer  http://127.0.0.1:26657/#patient=$PATIENT_ID   (any node's /; Docs/explorer.md)
  API       http://127.0.0.1:26657/v1 … :26662/v1   (Docs/openapi.yaml)   e.g. curl $TWINLEDGER_NODE/v1/blocks/latest
  health    http://127.0.0.1:26657/health  (height, peers, caught_up)
  metrics   http://127.0.0.1:26657/metrics (consensus rounds, step times, peers, sync)
  patient   $PATIENT_ID   shadows $SHADOW (MRI), $ECG (ECG, under an ABE policy)
  authority twinledger authority show AUTH_CARDIO   (epoch and attribute versions, proven by the ledger)
  homes     $C/<node> (logs: $C/<node>.log), demo keys in $W
  status    Network/local.sh status
  CLI       TWINLEDGER_NODE=$TWINLEDGER_NODE $T --help   (any node's URL works)
Press Ctrl-C to stop every node.
INFO
if [ "${TWINLEDGER_DEMO_EXIT:-0}" = 1 ]; then exit 0; fi
while true; do sleep 3600; done
