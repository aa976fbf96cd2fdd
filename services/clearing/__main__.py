"""The clearing service's process: ``python -m services.clearing``."""

from services.clearing.app import SPEC
from shared.service import main

if __name__ == "__main__":
    main(SPEC)
