"""`python -m lipsync ...`: the plain-Python command line."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
