"""``python -m zkmargin``."""

import sys

if __name__ == "__main__":
    try:
        from .cli import main
    except KeyboardInterrupt:  # Ctrl-C while the modules load: no traceback
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    main()
