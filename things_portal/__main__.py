"""`python -m things_portal <command>`: Django's management commands, from the installed
package (the production image has no manage.py; the source tree's manage.py calls this)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "things_portal.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
