"""CLI: `python -m intercom_sim --port 8089 --seed 1 --contacts 5000 ...` serves until interrupted."""

from __future__ import annotations

import argparse
import time

from . import Workspace, render, start


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m intercom_sim", description=__doc__)
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--contacts", type=int, default=300)
    parser.add_argument("--companies", type=int, default=60)
    parser.add_argument("--conversations", type=int, default=150)
    parser.add_argument("--tickets", type=int, default=40)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--latency-jitter-ms", type=float, default=0, help="latency ± this, uniformly")
    parser.add_argument("--rate-limit", type=int, default=10_000, help="requests per minute; 0 = unlimited")
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument("--search-lag-seconds", type=int, default=0)
    parser.add_argument("--token", default="sim-token")
    parser.add_argument(
        "--warm",
        action="store_true",
        help="serialize every object and build the search indexes before serving (for benchmarks)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    began = time.perf_counter()
    ws = Workspace(
        seed=args.seed,
        contacts=args.contacts,
        companies=args.companies,
        conversations=args.conversations,
        tickets=args.tickets,
    )
    if args.warm:
        render.warm(ws)
    server = start(
        ws,
        port=args.port,
        token=args.token,
        latency_ms=args.latency_ms,
        latency_jitter_ms=args.latency_jitter_ms,
        rate_limit=args.rate_limit,
        fault_rate=args.fault_rate,
        fault_seed=args.fault_seed,
        search_lag_seconds=args.search_lag_seconds,
    )
    if args.warm:
        server.warm_search_indexes()
    print(
        f"intercom_sim: workspace generated in {time.perf_counter() - began:.1f}s; serving {server.base_url} "
        f"(token {args.token!r}); Ctrl-C to stop",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
