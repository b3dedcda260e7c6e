"""`dsr.yaml`: where the state database, the datamap, the rules and the stores are.

Found through `--config`, then `DSR_CONFIG`, then `./dsr.yaml`. Relative paths (and relative
SQLite URLs) are resolved against the file's directory, so a project runs the same from
anywhere. Store credentials come from environment variables named with `url_env`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from .durations import Duration, parse_duration
from .errors import ConfigError, TenantError
from .keys import KEY_ENV, MasterKey, load_master
from .yamlfile import read_yaml, validated

CONFIG_ENV = "DSR_CONFIG"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _no_password(url: str | None) -> str | None:
    """A URL in dsr.yaml names where a store is, never the secret to open it: a configuration file
    is read, copied and committed far more widely than an environment."""
    if url and "://" in url:
        parts = urlsplit(url)
        try:
            password = parts.password
        except ValueError:  # a malformed port: the driver says so when it connects
            password = None
        if password or "password=" in parts.query.lower():
            raise ValueError(
                "has a password in it: give the URL through an environment variable instead "
                "(url_env, or request_store_env for the state database)"
            )
    return url


def _country_codes(countries: list[str]) -> list[str]:
    bad = [c for c in countries if len(c) != 2 or not c.isalpha()]
    if bad:
        raise ValueError(f"not two-letter country codes: {', '.join(bad)}")
    return [c.upper() for c in countries]


class StoreConfig(_Strict):
    """One store. `sql`: a SQLAlchemy URL. `s3`: `s3://bucket[/prefix]`. `parquet`: a directory
    (relative to dsr.yaml) or `s3://bucket/prefix`. Secrets only ever come from the environment."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,62}$", description="used as Dagster mapping key")
    kind: Literal["sql", "s3", "parquet"]
    url: str | None = None
    url_env: str | None = None
    endpoint_url: str | None = Field(None, description="S3 API endpoint (default: AWS)")
    endpoint_url_env: str | None = None
    region: str | None = None
    access_key_env: str | None = Field(None, description="variable holding the access key (default: AWS_*)")
    secret_key_env: str | None = None
    chunks: int = Field(
        1,
        ge=1,
        le=4096,
        description="lakes and buckets: the steps a lookup or erasure is split into, each over its share "
        "of the files or objects; Dagster's executor spreads them over its workers",
    )
    phone_regions: list[str] = Field(
        [],
        description="ISO 3166 codes of the countries whose national phone formats the store holds: "
        "discovery parses a number without a country code in its row's country, then in these",
    )

    _urls_without_passwords = field_validator("url", "endpoint_url")(_no_password)

    _regions = field_validator("phone_regions")(_country_codes)

    @model_validator(mode="after")
    def _one_url(self) -> StoreConfig:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url or url_env")
        if self.endpoint_url and self.endpoint_url_env:
            raise ValueError("give at most one of endpoint_url or endpoint_url_env")
        if (self.access_key_env is None) != (self.secret_key_env is None):
            raise ValueError("give both access_key_env and secret_key_env, or neither")
        if self.kind == "sql" and (self.endpoint_url or self.endpoint_url_env or self.access_key_env):
            raise ValueError("endpoint and key settings are for s3 and parquet stores")
        if self.kind == "sql" and self.chunks > 1:
            raise ValueError("chunks are for s3 and parquet stores (a SQL store finds rows by index)")
        suffix = len(f".{self.chunks - 1}") if self.chunks > 1 else 0  # chunk outcomes: `name.N`
        if len(self.name) + suffix > 63:  # the state database's store columns hold 63 characters
            raise ValueError(
                f"a store in {self.chunks} chunks needs a name of at most {63 - suffix} characters"
            )
        return self

    def _env(self, variable: str) -> str:
        value = os.environ.get(variable)
        if not value:
            raise ConfigError(f"store {self.name}: environment variable {variable} is not set")
        return value

    def resolved_url(self, base: Path) -> str:
        url = self._env(self.url_env) if self.url_env is not None else self.url
        if self.kind == "parquet" and "://" not in url:
            return str(Path(url) if Path(url).is_absolute() else (base / url).resolve())
        return url if self.url_env is not None else resolve_sqlite(url, base)

    def options(self) -> dict[str, str | None]:
        """Connector options beyond the URL: the endpoint and credentials, read at open time."""
        if self.kind == "sql":
            return {}
        endpoint = self._env(self.endpoint_url_env) if self.endpoint_url_env else self.endpoint_url
        keys = {}
        if self.access_key_env:
            keys = {
                "access_key": self._env(self.access_key_env),
                "secret_key": self._env(self.secret_key_env),
            }
        return {"endpoint_url": endpoint, "region": self.region, **keys}


class GuardConfig(_Strict):
    """Over-deletion guard: a subject matching more rows than this in one collection aborts.

    The limit is the larger of a share of the collection and a small count always allowed: large
    tables are judged by the share, small ones by the count (15 of 41 customers is refused).
    """

    max_share: float = Field(0.05, gt=0, le=1, description="share of a collection one subject may match")
    min_rows: int = Field(10, ge=1, description="a subject may always match this many rows")

    def limit(self, total_rows: int) -> int:
        return max(self.min_rows, int(self.max_share * total_rows))

    def stricter(self, max_share: float, min_rows: int) -> GuardConfig:
        return GuardConfig(max_share=min(self.max_share, max_share), min_rows=min(self.min_rows, min_rows))


class DiscoveryConfig(_Strict):
    sample_rows: int = Field(1000, ge=1, le=100_000, description="rows sampled per table")
    max_chars: int = Field(2000, ge=16, le=100_000, description="analysed length of one value")
    countries: list[str] = Field(
        [], description="ISO 3166 codes whose national-id recognizers are enabled (e.g. US, GB)"
    )
    recognizers: str | None = Field(None, description="YAML file of the project's own pattern recognizers")
    ner_model: str | None = Field(None, description="installed spaCy model for person names in text")

    _codes = field_validator("countries")(_country_codes)


def _period(text: str) -> str:
    try:
        parse_duration(text)
    except ConfigError:
        raise ValueError(f"{text!r} is not an ISO-8601 duration such as P30D, P1M or P7Y") from None
    return text


Period = Annotated[str, AfterValidator(_period)]


class TenantConfig(_Strict):
    response_period: Period | None = None
    phone_regions: list[str] = Field(
        [],
        description="ISO 3166 codes where this controller's data subjects live: discovery parses a "
        "number without a country code, in a row of this tenant with no country column, there first",
    )

    _regions = field_validator("phone_regions")(_country_codes)


class AuditConfig(_Strict):
    """Where checkpoints of the audit ledger are kept outside the database (`dsr audit checkpoint`)."""

    checkpoint_store: str | None = Field(
        None, description="an s3 store; in a bucket with object lock, each checkpoint is locked"
    )
    checkpoint_prefix: str = "audit/checkpoints/"
    checkpoint_retention: Period = Field("P10Y", description="how long a stored checkpoint stays locked")


class DagsterConfig(_Strict):
    """The production deployment (deploy/): where `dsr run` submits its runs instead of running them
    in its own process."""

    webserver: Annotated[str | None, AfterValidator(_no_password)] = Field(
        None, description="the deployment's webserver (http://host:3000): runs go to its instance's queue"
    )


class Settings(_Strict):
    request_store: Annotated[str, AfterValidator(_no_password)] = "sqlite:///.dsr/state.db"
    request_store_env: str | None = None
    datamap: str = "datamap.yaml"
    retention_rules: str = "retention_rules.yaml"
    export_dir: str = ".dsr/exports"
    key_file: str | None = None
    default_phone_region: str | None = None
    response_period: Period = "P1M"
    tenants: dict[str, TenantConfig] = {}
    guard: GuardConfig = GuardConfig()
    discovery: DiscoveryConfig = DiscoveryConfig()
    audit: AuditConfig = AuditConfig()
    dagster: DagsterConfig = DagsterConfig()
    package_days: int = Field(
        30, ge=1, description="days an access package can be downloaded after completion; then it is deleted"
    )
    lease_seconds: int = Field(
        3600, ge=1, description="how long a run holds its requests (renewed at every step); then others may"
    )
    stores: list[StoreConfig] = []

    @field_validator("stores")
    @classmethod
    def _unique_names(cls, stores: list[StoreConfig]) -> list[StoreConfig]:
        names = [s.name for s in stores]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"store names must be unique: {', '.join(dupes)}")
        return stores


class Config:
    """Settings plus the directory they are relative to."""

    def __init__(self, settings: Settings, base: Path):
        self.settings = settings
        self.base = base

    def path(self, value: str) -> Path:
        p = Path(value)
        return p if p.is_absolute() else self.base / p

    @property
    def request_store_url(self) -> str:
        if self.settings.request_store_env:
            url = os.environ.get(self.settings.request_store_env)
            if not url:
                raise ConfigError(f"request_store_env: {self.settings.request_store_env} is not set")
            return url
        return resolve_sqlite(self.settings.request_store, self.base)

    @property
    def datamap_path(self) -> Path:
        return self.path(self.settings.datamap)

    @property
    def rules_path(self) -> Path:
        return self.path(self.settings.retention_rules)

    @property
    def export_dir(self) -> Path:
        return self.path(self.settings.export_dir)

    def store(self, name: str) -> StoreConfig:
        for store in self.settings.stores:
            if store.name == name:
                return store
        known = ", ".join(s.name for s in self.settings.stores) or "none configured"
        raise ConfigError(f"unknown store {name!r} (known: {known})")

    def check_tenant(self, tenant: str) -> str:
        """`tenant`, if requests may name it: where `tenants:` is declared, only those names, exactly
        (another case is another tenant: a typo must not open a controller of its own)."""
        if not tenant or not tenant.strip():
            raise TenantError("a tenant is needed (--tenant NAME)")
        declared = self.settings.tenants
        if declared and tenant not in declared:
            near = [t for t in declared if t.casefold() == tenant.casefold()]
            hint = f"; did you mean {near[0]}?" if near else ""
            raise TenantError(f"unknown tenant {tenant!r} (known: {', '.join(sorted(declared))}){hint}")
        return tenant

    def response_period(self, tenant: str) -> Duration:
        tenant_cfg = self.settings.tenants.get(tenant)
        text = (tenant_cfg and tenant_cfg.response_period) or self.settings.response_period
        return parse_duration(text, "response_period")

    def master_key(self, variable: str = KEY_ENV) -> MasterKey:
        """The project key from `variable` (DSR_MASTER_KEY), else from `key_file:`."""
        key_file = self.path(self.settings.key_file) if self.settings.key_file else None
        return load_master(key_file, variable)


def resolve_sqlite(url: str, base: Path) -> str:
    """Make `sqlite:///relative.db` relative to `base`, and create its directory."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == "sqlite://" or url.startswith(prefix + "/"):
        return url
    rest = url[len(prefix) :]
    if rest.startswith(":memory:"):
        return url
    path = base / rest.split("?", 1)[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    query = "?" + rest.split("?", 1)[1] if "?" in rest else ""
    return f"{prefix}{path.resolve()}{query}"


def find_config_path(explicit: str | Path | None = None) -> Path:
    if explicit:
        path = Path(explicit)
    elif os.environ.get(CONFIG_ENV):
        path = Path(os.environ[CONFIG_ENV])
    else:
        path = Path("dsr.yaml")
    if not path.is_file():
        raise ConfigError(f"no configuration at {path} (use --config, {CONFIG_ENV} or ./dsr.yaml)")
    return path


def load_config(explicit: str | Path | None = None) -> Config:
    path = find_config_path(explicit)
    return config_from_dict(read_yaml(path, ConfigError), path.resolve().parent, str(path))


def config_from_dict(raw: dict, base: Path, source: str = "dsr.yaml") -> Config:
    return Config(validated(Settings, raw, source, ConfigError), base)
