"""``acquire simulate``: compare acquisition policies on held-out cases; tables, JSON and plots."""

from __future__ import annotations

import click

from acquire.cli.options import common, load_source, note
from acquire.cli.render import table
from acquire.predictors import PREDICTORS


@click.command()
@click.option("--dataset", help="A bundled dataset (see `acquire datasets list`).")
@click.option("--data", type=click.Path(dir_okay=False), help="A CSV/Parquet file with the target.")
@click.option("--spec", "spec_path", type=click.Path(dir_okay=False), help="The spec for --data.")
@click.option("--policies", default="greedy,cost_blind,static,random,all", show_default=True,
              help="Comma-separated: greedy, greedy_evsi, lookahead, cost_blind, static, random, all.")
@click.option("--budget", type=click.FloatRange(min=0), help="Hard budget per case.")
@click.option("--test-size", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.3, show_default=True,
              help="Share of rows held out (stratified, seeded); they never train anything.")
@click.option("--folds", type=click.IntRange(min=2), help="Cross-fitting: K folds, every case held out once.")
@click.option("--repeats", type=click.IntRange(min=1), default=1, show_default=True, help="Repeat with seeds seed, seed+1, ...")
@click.option("--bootstrap", type=click.IntRange(min=10), default=200, show_default=True, help="Bootstrap resamples.")
@click.option("--frontier", is_flag=True, help="Also sweep the exchange rate (soft stopping) and plot cost vs performance.")
@click.option("--predictor", default="auto", show_default=True, type=click.Choice(["auto", *PREDICTORS]),
              help="The predictor fitted on each training part (auto: chosen by cross-validation within it).")
@click.option("--jobs", type=click.IntRange(min=1), default=2, show_default=True, help="Processes over cases.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Write steps.csv, summary.json and plots here.")
@common(("table", "json"))
def simulate(dataset, data, spec_path, policies, budget, test_size, folds, repeats, bootstrap, frontier, predictor, jobs, out_dir,
             fmt, seed, quiet) -> None:
    """Simulate acquisition policies on a held-out split and compare cost against performance.

    \b
    Example:
      acquire simulate --dataset pima --policies greedy,cost_blind,static,random --out sims/pima
    """
    import sys

    from tqdm import tqdm

    from acquire.simulate import simulate as run

    frame, spec = load_source(dataset, data, spec_path)
    if spec is None:
        raise click.UsageError("--data needs --spec SPEC")
    names = [p.strip() for p in policies.split(",") if p.strip()]
    if not names:
        raise click.UsageError("--policies names no policy; give e.g. greedy,static,random,all")
    with tqdm(total=len(names) * repeats * (folds or 1), unit="policy run", disable=quiet or not sys.stderr.isatty(), file=sys.stderr) as bar:
        sim = run(frame, spec, names, test_size=test_size, seed=seed, budget=budget, n_boot=bootstrap,
                  progress=bar.update, n_jobs=jobs, folds=folds, repeats=repeats, predictor=predictor)
    front = None
    if frontier:
        from acquire.simulate import frontier as sweep

        front = sweep(frame, spec, test_size=test_size, seed=seed, n_jobs=jobs, predictor=predictor,
                      n_boot=bootstrap)  # the frontier's bands use the same resample count as the curves
        sim.split["frontier"] = front.to_dict(orient="records")
    if out_dir:
        import matplotlib

        matplotlib.use("Agg")  # files, not windows
        sim.save(out_dir, frontier=front)
        note(quiet, f"wrote steps (CSV, Parquet), curves.csv, summary.json and plots (PNG, SVG) to {out_dir}")
    if fmt == "json":
        click.echo(sim.to_json())
        return
    click.echo(f"{sim.split['n_test']} held-out cases ({sim.split['n_train']} trained on each time); all tests: "
               f"{sim.metric} {sim.full_metric:.3f} at cost {sim.total_cost:g}")
    money = spec.currency or "cost units"
    for name, rate in sim.split.get("exchange_rates", {}).items():
        unit = "utility" if name == "greedy_evsi" else "nats"
        click.echo(f"stop rule of {name}: exchange rate {rate:g} {unit} per {money}")
    cols = ["policy", "normalized_auc", "normalized_auc_ci_lower_95", "normalized_auc_ci_upper_95", "mean_cost",
            "mean_cost_share", f"final_{sim.metric}", "cost_to_99pct"]
    rows = [[None if isinstance(v, float) and v != v else v for v in row] for row in sim.summary[cols].values.tolist()]
    click.echo(table(rows, ["policy", "nAUC", "lo 95%", "hi 95%", f"mean cost ({money})", "share",
                            f"final {sim.metric}", f"cost→99% ({money})"],
                     formats=[None, ".3f", ".3f", ".3f", ".2f", ".0%", ".3f", ".2f"]))
    from acquire.metrics import higher_is_better

    better = "higher" if higher_is_better(sim.metric) else "lower"
    reach = ("cost→99%: the cost per case at which its curve first reaches 99 % of the AUROC with every test"
             if sim.metric == "auroc" else f"cost→99%: AUROC only (none for {sim.metric})")
    click.echo(f"nAUC: {sim.metric} averaged over the cost range (area under the {sim.metric}-vs-cost curve / total "
               f"cost; {better} is better); lo/hi: its bootstrap 95 % interval over cases; share: mean cost / cost of "
               f"every test; {reach}")
