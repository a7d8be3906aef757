"""``acquire datasets list|show``."""

from __future__ import annotations

import click

from acquire.cli.options import common
from acquire.cli.render import table, to_json


@click.group()
def datasets() -> None:
    """The bundled datasets: real data with test costs and provenance."""


@datasets.command("list")
@common(("table", "json"))
def list_(fmt: str, seed: int, quiet: bool) -> None:
    """List the bundled datasets."""
    from acquire.datasets import describe, list_datasets

    infos = [describe(n) for n in list_datasets()]
    if fmt == "json":
        click.echo(to_json(infos))
        return
    rows = [[i["name"], i["rows"], i["n_features"], i["target"], i["description"][:40]] for i in infos]
    click.echo(table(rows, ["name", "rows", "features", "target", "description"], "lrrll"))


@datasets.command("show")
@click.argument("name")
@common(("table", "json"))
def show(name: str, fmt: str, seed: int, quiet: bool) -> None:
    """Describe dataset NAME: rows, features with costs, groups, provenance."""
    from acquire.datasets import describe, provenance

    info = describe(name)
    if fmt == "json":
        click.echo(to_json(info | {"provenance": provenance(name)}))
        return
    click.echo(f"{info['name']}: {info['description']}")
    click.echo(f"rows: {info['rows']}; target: {info['target']} ({info['target_kind']}); currency: {info['currency']}")
    click.echo("")
    rows = [[f["name"], f["type"], f["cost"], f.get("group") or "", f.get("panel") or "", f.get("unit") or ""]
            for f in info["features"]]
    click.echo(table(rows, ["feature", "type", "cost", "group", "panel", "unit"], "llrlll",
                     formats=[None, None, ".2f", None, None, None]))
    if info["groups"]:
        click.echo("")
        click.echo(table([[g, c] for g, c in info["groups"].items()], ["group", "shared cost"], formats=[None, ".2f"]))
    click.echo("")
    click.echo(provenance(name))
