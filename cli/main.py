"""The ``acquire`` click group: lazy subcommands and the one place errors become exit codes.

Exit codes: 0 success; 2 a usage or input error (one line on stderr, no traceback);
1 an internal error (one line; set ACQUIRE_DEBUG=1 for the traceback); 3 ``check --strict``
found a high-severity problem.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings

import click

_COMMANDS = {
    "batch": ("acquire.cli.batch", "batch"),
    "check": ("acquire.cli.check", "check"),
    "datasets": ("acquire.cli.datasets", "datasets"),
    "explain": ("acquire.cli.explain", "explain"),
    "fit": ("acquire.cli.fit", "fit"),
    "rank": ("acquire.cli.rank", "rank"),
    "simulate": ("acquire.cli.simulate", "simulate"),
}


_default_showwarning = warnings.showwarning


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """The library's own warnings as one line on stderr; others as Python shows them."""
    from acquire.exceptions import AcquireWarning

    if issubclass(category, AcquireWarning):
        text = str(message).strip().splitlines()
        click.echo(f"Warning: {text[0] if text else category.__name__}", err=True)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


class InputError(click.ClickException):
    """A user error: one line per problem on stderr (a spec may have several), exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        for line in self.format_message().splitlines() or [""]:
            click.echo(f"Error: {line}", err=True)


class InternalError(click.ClickException):
    exit_code = 1


class LazyGroup(click.Group):
    """Imports a subcommand's module only when it runs (keeps ``--help`` fast)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, name: str):
        if name not in _COMMANDS:
            return None
        module, attr = _COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Every rejection is one line on stderr: usage errors too (click prints three); so is every
        warning the library raises about an answer it still gives (:class:`AcquireWarning`)."""
        warnings.showwarning = _one_line_warning
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"Error: {exc.format_message()}{where}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        if not standalone_mode:
            return rv
        sys.exit(rv if isinstance(rv, int) else 0)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, BrokenPipeError):
            raise
        except Exception as exc:  # the one choke point: library errors → exit codes
            from acquire.exceptions import AcquireError

            if os.environ.get("ACQUIRE_DEBUG"):
                raise
            if isinstance(exc, AcquireError):
                raise InputError(str(exc) or type(exc).__name__) from None
            if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
                raise InputError(f"{exc.strerror}: {exc.filename}") from None
            if isinstance(exc, ValueError) and "null byte" in str(exc):  # os.stat on a path typed with a NUL
                raise InputError("a path given on the command line contains a NUL byte") from None
            raise InternalError(f"internal error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             invoke_without_command=True)
@click.version_option(package_name="acquire", prog_name="acquire")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Rank which costly measurement to collect next, by value of information per cost."""
    if ctx.invoked_subcommand is None:  # `acquire` alone asks what there is: the help, exit 0
        click.echo(ctx.get_help())


def main() -> None:
    try:
        cli(prog_name="acquire")
    except BrokenPipeError:  # `acquire ... | head`: the reader left; not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
