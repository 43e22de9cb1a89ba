#!/usr/bin/env python3
"""Validates TwinLedger's FHIR export with an independent implementation: the `fhir.resources` models (pydantic),
R4B for `--version 4` and R5 for `--version 5` (pinned in Tests/FHIR/requirements.txt, installed by
scripts/fhir-venv.sh). Reads one Bundle (JSON) per file, validates the Bundle and each entry's resource by its own
model, and prints one JSON line per file: {"file", "resourceType counts", "ids"}; exits 1 with the validation error."""
import argparse
import json
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--version", choices=["4", "5"], required=True)
parser.add_argument("files", nargs="+")
args = parser.parse_args()

if args.version == "4":
    from fhir.resources.R4B import get_fhir_model_class
else:
    from fhir.resources import get_fhir_model_class

# The models check structure and types, not required value-set bindings: these are checked here, from the value sets
# of the FHIR specification (R4 4.0.1 and R5 5.0.0) for the coded elements the export uses.
REQUIRED = {
    "4": {
        ("Consent", "status"): {"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"},
        ("Consent", "provision.type"): {"deny", "permit"},
        ("AuditEvent", "action"): {"C", "R", "U", "D", "E"},
        ("AuditEvent", "outcome"): {"0", "4", "8", "12"},
        ("Provenance", "entity.role"): {"derivation", "revision", "quotation", "source", "removal"},
    },
    "5": {
        ("Consent", "status"): {"draft", "active", "inactive", "not-done", "entered-in-error", "unknown"},
        ("Consent", "decision"): {"deny", "permit"},
        ("AuditEvent", "action"): {"C", "R", "U", "D", "E"},
        ("AuditEvent", "severity"): {"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"},
        ("Provenance", "entity.role"): {"revision", "quotation", "source", "instantiates", "removal"},
    },
}


def values(node, path):
    """Every value at a dotted path, through lists."""
    if isinstance(node, list):
        return [v for item in node for v in values(item, path)]
    if not path:
        return [node]
    head, _, rest = path.partition(".")
    return values(node[head], rest) if isinstance(node, dict) and head in node else []


def check_bindings(resource):
    for (kind, path), allowed in REQUIRED[args.version].items():
        if resource["resourceType"] != kind:
            continue
        for value in values(resource, path):
            if value not in allowed:
                raise ValueError(f"{kind}.{path} = {value!r} is not in its required value set {sorted(allowed)}")
    if args.version == "4" and resource["resourceType"] == "Consent" and not ("policy" in resource or "policyRule" in resource):
        raise ValueError("Consent ppc-1: either a policy or a policyRule")


status = 0
for path in args.files:
    with open(path) as f:
        bundle = json.load(f)
    try:
        get_fhir_model_class("Bundle").model_validate(bundle)
        if bundle.get("type") != "searchset":
            raise ValueError("the export answers searchset Bundles")
        counts, ids = {}, []
        for entry in bundle.get("entry", []):
            resource = entry["resource"]
            kind = resource["resourceType"]
            get_fhir_model_class(kind).model_validate(resource)
            check_bindings(resource)
            counts[kind] = counts.get(kind, 0) + 1
            ids.append(resource["id"])
        print(json.dumps({"file": path, "valid": True, "counts": counts, "ids": ids}))
    except Exception as error:  # the validator's message is the test's evidence
        print(json.dumps({"file": path, "valid": False, "error": str(error)}))
        status = 1
sys.exit(status)
