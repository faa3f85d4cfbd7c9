"""``python -m yimatong`` is the ``yimatong`` command."""

from yimatong.cli import main

main()
