"""Validates billsync messages with Python's `jsonschema`, the reference the Swift validator is
compared with (Tests/BillsyncContractsTests). Same procedure as MessageContracts.validate:

  1. the bytes must be strict UTF-8 JSON (no BOM, no NaN/Infinity, one document);
  2. the document must match envelope.v1.schema.json;
  3. its payload must match <type>.v<major>.schema.json.

Usage: validate_messages.py SCHEMA_DIR FILE...  -> one JSON object per line: {"file", "valid", "errors"}
"""
import json
import pathlib
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

KNOWN_MINOR = {1: 0}


def load_registry(directory):
    resources = []
    for path in sorted(pathlib.Path(directory).glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def strict_json(data):
    def refuse_constant(name):
        raise ValueError(f"{name} is not JSON")

    text = data.decode("utf-8")  # strict: invalid bytes raise
    return json.loads(text, parse_constant=refuse_constant)


def main():
    directory = sys.argv[1]
    registry = load_registry(directory)
    checker = Draft202012Validator.FORMAT_CHECKER
    missing = {"date", "date-time", "uuid"} - set(checker.checkers)
    if missing:
        sys.exit(f"jsonschema cannot check formats {sorted(missing)}: is rfc3339-validator installed?")

    def validator(name):
        schema = registry.contents(f"https://schemas.billsync.dev/{name}")
        return Draft202012Validator(schema, registry=registry, format_checker=checker)

    envelope = validator("envelope.v1.schema.json")
    for file in sys.argv[2:]:
        errors = []
        try:
            document = strict_json(pathlib.Path(file).read_bytes())
        except (UnicodeDecodeError, ValueError) as error:
            errors.append(f"not JSON: {error}")
        else:
            errors = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in envelope.iter_errors(document)]
            if not errors:
                major, minor = (int(part) for part in document["schemaVersion"].split("."))
                if minor > KNOWN_MINOR.get(major, -1):
                    errors.append(f"unsupported schema version {document['schemaVersion']}")
                else:
                    payload = validator(f"{document['type']}.v{major}.schema.json")
                    errors = [f"/payload/{'/'.join(map(str, e.absolute_path))}: {e.message}"
                              for e in payload.iter_errors(document["payload"])]
        print(json.dumps({"file": file, "valid": not errors, "errors": [e[:300] for e in errors]}))


if __name__ == "__main__":
    main()
