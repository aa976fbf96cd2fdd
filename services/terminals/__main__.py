"""The terminals gateway: where shop terminals and tills send sales, redemptions and enrolments.

python -m services.terminals              the service
python -m services.terminals rotate-kek   reseal the terminals' secrets (entrypoints/cli.py)
"""

from __future__ import annotations

import sys

from services.terminals import app
from services.terminals.entrypoints import cli
from shared.service import main

if __name__ == "__main__":
    if sys.argv[1:]:
        cli.main(sys.argv[1:])
    else:
        main(app.SPEC)
