"""`python -m decisions`: see decisions.cli."""

import sys

from decisions.cli import main

if __name__ == "__main__":
    sys.exit(main())
