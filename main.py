"""labvoice: talk to your ML experiments (a checkout alias of the `labvoice` command; `--help` lists the commands)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from labvoice.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
