"""The portal: people sign in here, and it signs their scope tokens.

python -m services.portal                         the service
python -m services.portal create-operator EMAIL   the first operator (entrypoints/cli.py)
"""

from __future__ import annotations

import sys

from services.portal import app
from services.portal.entrypoints import cli
from shared.service import main

if __name__ == "__main__":
    if sys.argv[1:]:
        sys.exit(cli.main(sys.argv[1:]))
    else:
        main(app.SPEC)
