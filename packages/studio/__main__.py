"""``python -m studio``: the web app (see :mod:`studio.app`)."""

from studio.app import main

if __name__ == "__main__":
    main()
