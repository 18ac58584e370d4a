"""Where the CLI loads: the destination checked before anything else, and the Parquet copy of `filesystem`.

`check_destination()` resolves the `--destination` the dlt way (arguments, `DESTINATION__<NAME>__...`
environment variables, `.dlt/secrets.toml`) and opens one connection to it, before the pipeline exists and
before any Intercom request. Every problem (an unknown name, missing settings, a wrong password, a server
that is down) becomes one `ConfigurationError` line that names what to set, with every secret redacted.

`--destination filesystem` loads Parquet files, but the connector's tables cannot be kept exact in plain
files with dlt 1.31: the filesystem destination merges only Delta or Iceberg tables, by primary key alone
(`upsert`), which ignores the merge keys that replace a contact's tags, companies, notes and subscriptions
(a removed tag would stay), leaves removed items of child tables behind, and reading a Delta table back
(`reconcile_deletes`) needs a DuckDB extension that is downloaded at run time. So the run merges into a
local DuckDB database (`--duckdb-file`, which also holds the pipeline's state) exactly as `--destination
duckdb` does, and `publish_parquet()` then writes every table of it to the bucket with dlt's filesystem
destination, replacing the previous copy: the files always hold the complete, merged tables.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import dlt
from dlt.common.configuration.exceptions import (
    ConfigFieldMissingException,
    ConfigurationException,
    LookupTraces,
)
from dlt.common.configuration.specs.base_configuration import BaseConfiguration, is_secret_hint
from dlt.common.destination import Destination
from dlt.common.destination.exceptions import UnknownDestinationModule
from dlt.common.destination.reference import DestinationReference
from dlt.common.exceptions import MissingDependencyException
from dlt.common.schema import Schema
from dlt.dataset.utils import get_destination_clients
from dlt.sources import DltResource

from .errors import ConfigurationError

FILESYSTEM = "filesystem"
LOCAL_FILE_DESTINATIONS = ("duckdb",)
"""Destinations whose first connection would create their database file: only their folder is checked."""
PUBLISH_BATCH_ROWS = 50_000
REDACTED = "***"


def destination_choices() -> list[str]:
    """The short names of dlt's destinations (what `--destination` accepts)."""
    import dlt.destinations  # noqa: F401 - registers the factories

    names = {reference.rsplit(".", 1)[-1] for reference in DestinationReference.DESTINATIONS}
    return sorted(names - {"destination", "dummy"})


def destination_kind(destination_type: str) -> str:
    """`dlt.destinations.postgres` (a destination's type) -> `postgres`."""
    return destination_type.rsplit(".", 1)[-1]


def resolve_destination(name: str, duckdb_file: str) -> Destination[Any, Any]:
    """The destination factory `--destination` names; an unknown name raises ConfigurationError."""
    if name == "duckdb":
        return dlt.destinations.duckdb(duckdb_file)
    try:
        return Destination.from_reference(name)
    except UnknownDestinationModule:
        raise ConfigurationError(
            f"Unknown destination '{name}'; set --destination to one of: {', '.join(destination_choices())}"
        ) from None


def pipeline_destination(name: str, duckdb_file: str) -> Destination[Any, Any]:
    """Where the pipeline itself loads: DuckDB for `filesystem` too (its files are published after)."""
    return resolve_destination("duckdb" if name == FILESYSTEM else name, duckdb_file)


def check_destination(name: str, duckdb_file: str, dataset: str) -> None:
    """Resolves the destination's configuration and opens one connection to it; raises ConfigurationError.

    Creates nothing: no pipeline, no state, no dataset, no database file.
    """
    if name in (*LOCAL_FILE_DESTINATIONS, FILESYSTEM):
        check_duckdb_file(duckdb_file)
    if name == "duckdb":
        return
    destination = resolve_destination(name, duckdb_file)
    try:
        client, _ = get_destination_clients(
            Schema("intercom"), destination=destination, destination_dataset_name=dataset
        )
    except ConfigFieldMissingException as exc:
        raise ConfigurationError(missing_settings_message(name, exc)) from None
    except ConfigurationException as exc:  # a value that does not parse (dlt does not show it)
        cause = redact(first_line(exc), secret_values(None, name))
        raise ConfigurationError(
            f"destination {name} has an invalid setting: {cause}; check {settings_names(name, 'credentials')}"
        ) from None
    except MissingDependencyException as exc:
        raise ConfigurationError(
            f"destination {name} needs packages that are not installed: {', '.join(exc.dependencies)}"
            f' (pip install "dlt[{destination_kind(destination.destination_type)}]")'
        ) from None
    secrets = secret_values(client.config, name)
    try:
        if name == FILESYSTEM:
            check_bucket(client)
        elif hasattr(client, "sql_client"):
            with client.sql_client as sql:
                sql.execute_sql("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure to connect is the user's setting to fix
        location = redact(str(getattr(client.config, "credentials", None) or name), secrets)
        cause = redact(first_line(exc), secrets)
        raise ConfigurationError(
            f"cannot connect to destination {name} ({location}): {cause};"
            f" check {settings_names(name, 'credentials')}"
        ) from None


def check_duckdb_file(duckdb_file: str) -> None:
    folder = Path(duckdb_file).expanduser().resolve().parent
    if not folder.is_dir():
        raise ConfigurationError(f"the folder of --duckdb-file {duckdb_file} does not exist")


def check_bucket(client: Any) -> None:
    """A local bucket needs nothing (dlt creates the folders); a remote one is listed once."""
    if client.config.protocol == "file":
        return
    client.fs_client.exists(client.config.bucket_url)


def settings_names(destination: str, field: str) -> str:
    section = destination.upper()
    return (
        f"DESTINATION__{section}__{field.upper()}"
        f" (or {field} under [destination.{destination}] in .dlt/secrets.toml)"
    )


def missing_settings_message(destination: str, exc: ConfigFieldMissingException) -> str:
    """Names the settings to set, and for a partly given one (credentials) the parts it lacks."""
    fields = [field for field in exc.fields if field != "local_dir"] or list(exc.fields)
    described = []
    for field in fields:
        nested = [
            part
            for trace in exc.traces.get(field, ())
            if isinstance(trace, LookupTraces)
            for part in trace.traces
        ]
        lacking = f": {field} lacks {', '.join(nested)}" if nested else ""
        described.append(settings_names(destination, field) + lacking)
    return f"destination {destination} is not configured: set {'; '.join(described)}"


def first_line(exc: BaseException) -> str:
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__


def secret_values(config: Any, destination: str) -> set[str]:
    """Every secret of a resolved destination configuration, and passwords in its environment variables."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if not isinstance(value, BaseConfiguration):
            return
        for field, hint in value.get_resolvable_fields().items():
            item = getattr(value, field, None)
            if isinstance(item, BaseConfiguration):
                walk(item)
            elif isinstance(item, str) and item and is_secret_hint(hint):
                found.add(item)

    walk(config)
    prefix = f"DESTINATION__{destination.upper()}__"
    for key, value in os.environ.items():
        if key.startswith(prefix) and value:
            found.update(url_passwords([value]))
            if "PASSWORD" in key or "SECRET" in key or "KEY" in key:
                found.add(value)
    return {secret for secret in found if len(secret) >= 3}


def url_passwords(values: Iterable[str]) -> set[str]:
    passwords: set[str] = set()
    for value in values:
        try:
            password = urlsplit(value).password
        except ValueError:
            continue
        if password:
            passwords.update({password, unquote(password)})
    return passwords


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


# ----------------------------------------------------------------------------------- the Parquet copy


def table_copies(pipeline: dlt.Pipeline) -> DltResource:
    """Every data table `pipeline` (a DuckDB pipeline) holds, read in Arrow batches, one dlt table each.

    `replace`: each publication rewrites every table, and a table that became empty is emptied.
    """
    schema = pipeline.default_schema
    names = [name for name in sorted(schema.data_table_names()) if schema.tables[name].get("columns")]

    def tables() -> Iterator[Any]:
        with pipeline.sql_client() as client:
            for name in names:
                if not client.has_dataset():
                    return
                query = f"SELECT * FROM {client.make_qualified_table_name(name)}"
                reader = client.native_connection.sql(query).to_arrow_reader(PUBLISH_BATCH_ROWS)
                for batch in reader:
                    yield dlt.mark.with_table_name(batch, name)

    return dlt.resource(tables, name="tables", write_disposition="replace")


def publish_parquet(pipeline: dlt.Pipeline, destination: Any = FILESYSTEM) -> dlt.Pipeline:
    """Writes every table of the DuckDB `pipeline` as Parquet to the filesystem destination.

    The copy gets the same dataset name; its own small pipeline (`<name>_files`, beside `pipeline`'s
    state) replaces all of it on each call. `destination` defaults to dlt's `filesystem`, configured by
    DESTINATION__FILESYSTEM__BUCKET_URL (and the bucket's credentials).
    """
    files = dlt.pipeline(
        pipeline_name=f"{pipeline.pipeline_name}_files",
        destination=destination,
        dataset_name=pipeline.dataset_name,
        pipelines_dir=pipeline.pipelines_dir,
    )
    files.run(table_copies(pipeline), loader_file_format="parquet")
    return files
