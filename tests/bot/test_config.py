"""Configuration: documented in config.example.toml, validated into one line per bad key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from bot.config import (
    DEFAULT_DB_FILENAME,
    ENV_DATABASE_URL,
    ENV_TOKEN,
    Config,
    ConfigError,
    DatabaseConfig,
    Mode,
    load_config,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
PG_URL = "postgresql://crm:s3cret@db.example.com:5432/crm"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, **environ: str) -> Config:
    return load_config(write(tmp_path, text), environ=environ)


def config_error(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, text)
    return raised.value.lines


def fields(model: type[BaseModel], table: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every leaf field as the path of TOML tables and key it is written under."""
    leaves = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            leaves += fields(annotation, (*table, name))
        else:
            leaves.append((*table, name))
    return leaves


def example_value(path: tuple[str, ...]) -> Any:
    node: Any = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    for part in path:
        node = node[part]
    return node


CONFIG_FIELDS = fields(Config)


def test_fields_walk_reaches_nested_tables() -> None:
    assert ("telegram", "webhook", "secret_token") in CONFIG_FIELDS
    assert len(CONFIG_FIELDS) > 20


@pytest.mark.parametrize("path", CONFIG_FIELDS, ids=".".join)
def test_example_documents_every_config_field(path: tuple[str, ...]) -> None:
    try:
        example_value(path)
    except KeyError:
        pytest.fail(f"{'.'.join(path)} is missing from config.example.toml")


def test_example_loads_to_the_defaults() -> None:
    config = load_config(EXAMPLE, environ={})
    assert config.model_copy(update={"database": DatabaseConfig()}) == Config()


def test_load_config_derives_sqlite_file_next_to_config(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = folder / "config.toml"
    path.write_text("", encoding="utf-8")
    config = load_config(path, environ={})
    assert config.database.url == f"sqlite:///{(folder / DEFAULT_DB_FILENAME).resolve()}"


def test_load_config_makes_default_database_path_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("config.toml").write_text("", encoding="utf-8")
    config = load_config(Path("config.toml"), environ={})
    assert config.database.url == f"sqlite:///{tmp_path.resolve() / DEFAULT_DB_FILENAME}"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[telegram]\nmode = "carrier-pigeon"\n', "telegram.mode"),
        ('[locale]\ntimezone = "Mars/Olympus_Mons"\n', "locale.timezone"),
        ('[access]\nadmins = "12345"\n', "access.admins"),
        ('[telegram]\ntokn = "123:abc"\n', "telegram.tokn"),
        ('[deals]\nstages = ["lead", "lost"]\n', "deals.stages"),
        ("[telegram.webhook]\nport = 0\n", "telegram.webhook.port"),
        ('[logging]\nlevel = "LOUD"\n', "logging.level"),
        ("[instances]\nupdate_lease_seconds = 0\n", "instances.update_lease_seconds"),
        ("[instances]\nupdate_lease_seconds = 301\n", "instances.update_lease_seconds"),
        ("[webhooks]\ntimeout_seconds = 0\n", "webhooks.timeout_seconds"),
        ("[webhooks]\nmax_concurrency = 65\n", "webhooks.max_concurrency"),
        ("surprise = 1\n", "surprise"),
    ],
)
def test_load_config_reports_bad_value_on_one_line_naming_key(
    tmp_path: Path, text: str, key: str
) -> None:
    [line] = config_error(tmp_path, text)
    assert line.startswith(f"{key}: ")


def test_contracts_default_to_the_documented_values(tmp_path: Path) -> None:
    contracts = load(tmp_path, "").contracts
    assert contracts.number_pattern == "HT-{year}-{seq:04d}"
    assert (contracts.renewal_notice_days, contracts.max_file_mb) == (30, 20)


def test_contract_number_pattern_is_taken_as_configured(tmp_path: Path) -> None:
    config = load(tmp_path, '[contracts]\nnumber_pattern = "合同-{seq:03d}"\n')
    assert config.contracts.number_pattern == "合同-{seq:03d}"


@pytest.mark.parametrize(
    "pattern", ["HT-{year}", "HT-{seq}-{seq}", "HT-{month}-{seq}", "HT-{seq:s}", "HT-{seq"]
)
def test_contract_number_pattern_is_checked_at_load(tmp_path: Path, pattern: str) -> None:
    [line] = config_error(tmp_path, f'[contracts]\nnumber_pattern = "{pattern}"\n')
    assert line.startswith("contracts.number_pattern: ")
    assert "HT-{year}-{seq:04d}" in line


@pytest.mark.parametrize(
    "text",
    ["[contracts]\nrenewal_notice_days = -1\n", "[contracts]\nmax_file_mb = 0\n"],
)
def test_contract_numbers_out_of_range_are_refused(tmp_path: Path, text: str) -> None:
    [line] = config_error(tmp_path, text)
    assert line.startswith("contracts.")


def test_update_lease_defaults_to_15_seconds(tmp_path: Path) -> None:
    assert load(tmp_path, "").instances.update_lease_seconds == 15


@pytest.mark.parametrize("seconds", [1, 300])
def test_update_lease_accepts_1_to_300_seconds(tmp_path: Path, seconds: int) -> None:
    config = load(tmp_path, f"[instances]\nupdate_lease_seconds = {seconds}\n")
    assert config.instances.update_lease_seconds == seconds


def test_update_lease_out_of_range_names_the_bound(tmp_path: Path) -> None:
    [line] = config_error(tmp_path, "[instances]\nupdate_lease_seconds = 301\n")
    assert line == "instances.update_lease_seconds: Input should be less than or equal to 300"


def test_load_config_reports_unknown_key_as_unknown(tmp_path: Path) -> None:
    [line] = config_error(tmp_path, '[telegram]\ntokn = "123:abc"\n')
    assert "unknown key" in line


def test_load_config_reports_every_bad_key_once(tmp_path: Path) -> None:
    text = (
        '[telegram]\nmode = "carrier-pigeon"\n'
        '[locale]\ntimezone = "Mars/Olympus_Mons"\n'
        '[access]\nadmins = "12345"\n'
        '[deals]\nstages = ["lead", "lost"]\n'
    )
    lines = config_error(tmp_path, text)
    keys = sorted(line.partition(": ")[0] for line in lines)
    assert keys == ["access.admins", "deals.stages", "locale.timezone", "telegram.mode"]


def test_load_config_rejects_invalid_toml(tmp_path: Path) -> None:
    [line] = config_error(tmp_path, "[telegram\ntoken = \n")
    assert "not valid TOML" in line
    assert line.startswith(str(tmp_path / "config.toml"))


def test_load_config_rejects_missing_required_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "absent.toml", environ={})
    [line] = raised.value.lines
    assert "absent.toml" in line
    assert "not found" in line


def test_load_config_uses_defaults_for_missing_optional_file(tmp_path: Path) -> None:
    config = load_config(tmp_path / "absent.toml", environ={}, required=False)
    assert config.model_copy(update={"database": DatabaseConfig()}) == Config()


def test_load_config_takes_token_and_database_from_environment(tmp_path: Path) -> None:
    text = '[telegram]\ntoken = "1:from-file"\n[database]\nurl = "sqlite:///file.db"\n'
    config = load(tmp_path, text, **{ENV_TOKEN: "2:from-env", ENV_DATABASE_URL: PG_URL})
    assert config.telegram.token.get_secret_value() == "2:from-env"
    assert config.database.url == PG_URL


def test_load_config_keeps_file_values_without_environment(tmp_path: Path) -> None:
    text = '[telegram]\ntoken = "1:from-file"\n[database]\nurl = "sqlite:///file.db"\n'
    config = load(tmp_path, text)
    assert config.telegram.token.get_secret_value() == "1:from-file"
    assert config.database.url == "sqlite:///file.db"


def test_load_config_reports_non_table_section_with_env_override(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load(tmp_path, f'database = "{PG_URL}"\n', **{ENV_DATABASE_URL: PG_URL})


def test_require_token_names_key_and_variable() -> None:
    with pytest.raises(ConfigError) as raised:
        Config().require_token()
    [line] = raised.value.lines
    assert line.startswith("telegram.token: ")
    assert ENV_TOKEN in line


def test_require_token_returns_token(tmp_path: Path) -> None:
    assert load(tmp_path, "", **{ENV_TOKEN: "123:abc"}).require_token() == "123:abc"


def test_load_config_requires_webhook_url_in_webhook_mode(tmp_path: Path) -> None:
    [line] = config_error(tmp_path, '[telegram]\nmode = "webhook"\n')
    assert line.startswith("telegram.webhook.url: ")


def test_load_config_accepts_webhook_mode_with_url(tmp_path: Path) -> None:
    text = (
        '[telegram]\nmode = "webhook"\n[telegram.webhook]\nurl = "https://crm.example.com/t"\n'
        'secret_token = "s3cret"\n'
    )
    assert load(tmp_path, text).telegram.mode is Mode.WEBHOOK


def test_load_config_requires_webhook_secret_in_webhook_mode(tmp_path: Path) -> None:
    text = '[telegram]\nmode = "webhook"\n[telegram.webhook]\nurl = "https://crm.example.com/t"\n'
    [line] = config_error(tmp_path, text)
    assert line.startswith("telegram.webhook.secret_token: ")
