"""The floor: parse the answer file and nothing else (a simdjson-class parser).

Usage: python parse_floor.py ANSWER.json {simdjson|orjson}
`simdjson` builds the full Python document (simdjson.loads), as orjson does; the report
needs every value, so a lazy parse that touches nothing would not be a fair floor.
"""

import sys


def main(path, parser):
    with open(path, "rb") as handle:
        data = handle.read()
    if parser == "simdjson":
        import simdjson

        document = simdjson.loads(data)
    else:
        import orjson

        document = orjson.loads(data)
    print(len(document["tables"][0]["rows"]))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
