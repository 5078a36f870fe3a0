#!/usr/bin/env python3
"""Django's command-line utility for Things Portal (the same as `python -m things_portal`)."""

from things_portal.__main__ import main

if __name__ == "__main__":
    main()
