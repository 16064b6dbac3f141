"""`python -m labvoice ...`: the same command line as the `labvoice` console script."""
import sys

from labvoice.cli import main

if __name__ == "__main__":
    sys.exit(main())
