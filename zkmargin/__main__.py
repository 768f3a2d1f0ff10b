"""``python -m zkmargin``."""

from .cli import main

main()
