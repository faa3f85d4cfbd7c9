"""Write the EU DCC value sets the checkpoint page ships (dcc_schema.PAGE_VALUE_SETS) from the
ones the Python core reads (verifier/data/dcc-valuesets): run after updating those.

    .venv/bin/python scripts/gen_page_valuesets.py
"""

from __future__ import annotations

import json
from pathlib import Path

from yimatong.verifier.dcc_schema import PAGE_VALUE_SETS, page_value_sets

ROOT = Path(__file__).resolve().parent.parent / "src" / "yimatong"


def main() -> None:
    target = ROOT / PAGE_VALUE_SETS
    target.write_text(json.dumps(page_value_sets(), ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {target.relative_to(ROOT.parent.parent)}")


if __name__ == "__main__":
    main()
