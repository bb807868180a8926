"""Entry point of the Claude Desktop bundle: ``ops-mcp serve --transport stdio`` plus the arguments the
manifest passes (``--agent``, ``--config``).

The ``ops-mcp`` console script is looked up by name, so the bundle keeps working wherever the command's
code lives inside the package.
"""

import sys
from importlib.metadata import entry_points


def main() -> int:
    (command,) = entry_points(group="console_scripts", name="ops-mcp")
    return command.load()(["serve", "--transport", "stdio", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
