"""Open the labvoice window (same as `python main.py gui`)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from labvoice.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["gui", *sys.argv[1:]]))
