#!/usr/bin/env python3
"""Regenerates enterprise-techniques.tsv from an ATT&CK Enterprise STIX bundle.

Usage: generate.py enterprise-attack.json > enterprise-techniques.tsv
The bundle comes from https://github.com/mitre-attack/attack-stix-data (enterprise-attack/).
"""
import json
import sys

TACTIC_IDS = {
    "reconnaissance": "TA0043", "resource-development": "TA0042", "initial-access": "TA0001",
    "execution": "TA0002", "persistence": "TA0003", "privilege-escalation": "TA0004",
    "defense-evasion": "TA0005", "credential-access": "TA0006", "discovery": "TA0007",
    "lateral-movement": "TA0008", "collection": "TA0009", "command-and-control": "TA0011",
    "exfiltration": "TA0010", "impact": "TA0040",
}


def techniques(bundle):
    for obj in bundle["objects"]:
        if obj.get("type") != "attack-pattern" or obj.get("revoked") or obj.get("x_mitre_deprecated"):
            continue
        ref = next(r for r in obj["external_references"] if r.get("source_name") == "mitre-attack")
        phases = [p["phase_name"] for p in obj.get("kill_chain_phases", [])
                  if p.get("kill_chain_name") == "mitre-attack"]
        yield ref["external_id"], ",".join(TACTIC_IDS[p] for p in phases)


def main():
    bundle = json.load(open(sys.argv[1]))
    version = next((o.get("x_mitre_version") for o in bundle["objects"] if o.get("type") == "x-mitre-collection"), "?")
    print(f"# MITRE ATT&CK Enterprise v{version}: technique id, then the ids of the tactics ATT&CK assigns it.")
    print("# Source: enterprise-attack.json (github.com/mitre-attack/attack-stix-data), revoked and deprecated techniques left out.")
    print("# ATT&CK(R) is a registered trademark of The MITRE Corporation; the data is (c) The MITRE Corporation, used under its terms of use.")
    print("# Regenerate: assets/mitre/generate.py.")
    for technique, tactics in sorted(techniques(bundle)):
        print(f"{technique}\t{tactics}")


if __name__ == "__main__":
    main()
