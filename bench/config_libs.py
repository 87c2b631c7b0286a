"""What a config library would cost at start: import time and RSS, next to this config model.

Each line is a fresh interpreter that imports the module and, for the libraries, defines one
model of the [web] section's shape (12 fields with defaults and limits), as this project
would. Libraries that are not installed are skipped; to measure them without touching the
venv: `pip install --target /tmp/cfglibs pydantic msgspec attrs cattrs` and
`python bench/config_libs.py --path /tmp/cfglibs`.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

PROBE = r"""
import json, resource, sys, time
t = time.perf_counter()
exec(sys.argv[1])
took = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"import_ms": 1000 * took, "rss_mb": rss}))
"""
FIELDS = 12
CASES = {
    "nothing (python itself)": "pass",
    "appliance.schema: dataclass + key() (what we use)":
        "import dataclasses\nfrom appliance.schema import Section, key\n"
        "@dataclasses.dataclass(frozen=True)\nclass Web:\n" + "".join(
            f"    f{i}: int = key(8080, 0, 65535, kind='whole')\n" for i in range(FIELDS)),
    "(the whole config model: session, every adapter)":
        "import appliance.config as c; c.adapter_configs()",
    "pydantic v2": "import pydantic\nclass Web(pydantic.BaseModel):\n" + "".join(
        f"    f{i}: int = pydantic.Field(8080, ge=0, le=65535)\n" for i in range(FIELDS)),
    "msgspec": "import msgspec\nfrom typing import Annotated\nclass Web(msgspec.Struct):\n"
               + "".join(f"    f{i}: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8080\n"
                         for i in range(FIELDS)),
    "attrs + cattrs": "import attrs, cattrs\n@attrs.frozen\nclass Web:\n" + "".join(
        f"    f{i}: int = attrs.field(default=8080, validator=attrs.validators.and_("
        f"attrs.validators.ge(0), attrs.validators.le(65535)))\n" for i in range(FIELDS))
        + "cattrs.structure({}, Web)",
}


def measure(code: str, env: dict, runs: int):
    got = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PROBE, code], capture_output=True,
                             text=True, env=env)
        if out.returncode != 0:
            return None
        got.append(json.loads(out.stdout))
    return (statistics.median(g["import_ms"] for g in got),
            statistics.median(g["rss_mb"] for g in got))


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--path", default="", help="a folder with the libraries (pip --target)")
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args(argv)
    env = dict(os.environ)
    if args.path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (args.path, env.get("PYTHONPATH"))))
    print(f"config_libs: import + one {FIELDS}-field model, median of {args.runs} fresh "
          f"interpreters, python {sys.version.split()[0]}")
    for name, code in CASES.items():
        result = measure(code, env, args.runs)
        if result is None:
            print(f"  {name:<50} not installed")
        else:
            print(f"  {name:<50} {result[0]:6.1f} ms  RSS {result[1]:5.1f} MB")


if __name__ == "__main__":
    main()
