"""``python -m zkmargin``."""

import signal
import sys

if __name__ == "__main__":
    try:
        from .cli import entry
    except KeyboardInterrupt:  # Ctrl-C while the modules load: no traceback
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    entry()
