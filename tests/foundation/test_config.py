"""Configuration: file discovery, precedence per value, validation messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import zcomp.config
from zcomp.config import EXAMPLE_CONFIG, CliValues, load_settings, validate_file
from zcomp.exitcodes import ConfigError, ExitCode

PROFILES = """
default_profile = "prod"
timeout = 12
url = "https://top.example.edu:7071"

[profiles.prod]
url = "https://mail.example.edu:7071"
admin = "admin@example.edu"

[profiles.prod.lockdown]
workers = 8

[profiles.test]
url = "https://test.example.edu:7071"
admin = "admin@test.example.edu"
timeout = 5

[lockdown]
protected = ["CEO@example.edu"]
workers = 2

[policy]
admin_forwarding = "remove"

[tickets]
backend = "rt"

[tickets.rt]
url = "https://rt.example.edu"
queue = "abuse"
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def user_file() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "zcomp" / "config.toml"


def test_defaults_without_any_file() -> None:
    settings = load_settings(CliValues(), {})
    assert settings.config_path is None
    assert settings.url is None and settings.profile is None
    assert settings.timeout == 30.0 and settings.token_cache == "auto" and settings.keyring
    assert settings.lockdown.workers == 4 and settings.unlock.min_locked_minutes == 60
    assert settings.policy.admin_forwarding == "report"
    assert settings.tickets.backend == "file"
    assert settings.sources["url"] == "default"
    # state_dir default comes from platformdirs, i.e. the (isolated) XDG_STATE_HOME.
    assert settings.state_dir == Path(os.environ["XDG_STATE_HOME"]) / "zcomp"


def test_profile_values_over_top_level_and_sections_merge(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", PROFILES)
    settings = load_settings(CliValues(config=path), {})
    assert settings.profile == "prod"
    assert settings.url == "https://mail.example.edu:7071"
    assert settings.sources["url"] == f"file {path} [profiles.prod]"
    assert settings.timeout == 12.0 and settings.sources["timeout"] == f"file {path}"
    assert settings.lockdown.workers == 8
    assert settings.sources["lockdown.workers"] == f"file {path} [profiles.prod.lockdown]"
    assert settings.lockdown.protected == ("ceo@example.edu",)
    assert settings.sources["lockdown.protected"] == f"file {path} [lockdown]"
    assert settings.policy.admin_forwarding == "remove"
    assert settings.tickets.backend == "rt"
    assert settings.tickets.options == {"rt": {"url": "https://rt.example.edu", "queue": "abuse"}}


def test_profile_selection_flag_over_env_over_default(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", PROFILES)
    assert load_settings(CliValues(config=path), {"ZCOMP_PROFILE": "test"}).profile == "test"
    chosen = load_settings(CliValues(config=path, profile="prod"), {"ZCOMP_PROFILE": "test"})
    assert chosen.profile == "prod" and chosen.sources["profile"] == "flag"
    test = load_settings(CliValues(config=path), {"ZCOMP_PROFILE": "test"})
    assert test.timeout == 5.0 and test.lockdown.workers == 2
    assert test.sources["profile"] == "env ZCOMP_PROFILE"


def test_flag_over_env_over_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", PROFILES)
    env = {"ZCOMP_URL": "https://env.example.edu:7071", "ZCOMP_ADMIN": "env@example.edu"}
    from_env = load_settings(CliValues(config=path), env)
    assert from_env.url == "https://env.example.edu:7071"
    assert from_env.sources["url"] == "env ZCOMP_URL"
    assert from_env.admin == "env@example.edu"
    from_flag = load_settings(
        CliValues(config=path, url="https://flag:7071", timeout=3, insecure=True), env
    )
    assert from_flag.url == "https://flag:7071" and from_flag.sources["url"] == "flag"
    assert from_flag.timeout == 3.0 and from_flag.sources["timeout"] == "flag"
    assert from_flag.insecure is True and from_flag.admin == "env@example.edu"


def test_state_dir_env_over_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", 'state_dir = "/var/lib/zcomp"\n')
    assert load_settings(CliValues(config=path), {}).state_dir == Path("/var/lib/zcomp")
    settings = load_settings(CliValues(config=path), {"ZCOMP_STATE_DIR": str(tmp_path / "s")})
    assert settings.state_dir == tmp_path / "s"
    assert settings.sources["state_dir"] == "env ZCOMP_STATE_DIR"


def test_file_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = write(zcomp.config.SYSTEM_CONFIG_PATH, 'url = "https://system:7071"\n')
    settings = load_settings(CliValues(), {})
    assert settings.config_path == system and settings.sources["config_path"] == "system"
    write(user_file(), 'url = "https://user:7071"\n')
    assert load_settings(CliValues(), {}).url == "https://user:7071"
    env_file = write(tmp_path / "env.toml", 'url = "https://env-file:7071"\n')
    assert (
        load_settings(CliValues(), {"ZCOMP_CONFIG": str(env_file)}).url == "https://env-file:7071"
    )
    flag_file = write(tmp_path / "flag.toml", 'url = "https://flag-file:7071"\n')
    settings = load_settings(CliValues(config=flag_file), {"ZCOMP_CONFIG": str(env_file)})
    assert settings.url == "https://flag-file:7071" and settings.sources["config_path"] == "flag"


def test_named_file_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_settings(CliValues(config=tmp_path / "nope.toml"), {})
    with pytest.raises(ConfigError, match=r"\$ZCOMP_CONFIG"):
        load_settings(CliValues(), {"ZCOMP_CONFIG": str(tmp_path / "nope.toml")})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[profiles.prod]\nulr = "https://x"\n',
            "unknown key 'profiles.prod.ulr' (did you mean 'url'?)",
        ),
        ("timout = 3\n", "unknown key 'timout' (did you mean 'timeout'?)"),
        ("[lockdown]\nworker = 3\n", "unknown key 'lockdown.worker' (did you mean 'workers'?)"),
        (
            '[policy]\nforwardng = "remove"\n',
            "unknown key 'policy.forwardng' (did you mean 'forwarding'?)",
        ),
        ('[tickets]\nbackend = "file"\n[tickets.jra]\nx = 1\n', "unknown key 'tickets.jra'"),
        ("[tickets.file]\ndirectry = 'x'\n", "unknown key 'tickets.file.directry'"),
        (
            "[tickets.file]\ndir = 'x'\n",
            "unknown key 'tickets.file.dir' (did you mean 'directory'?)",
        ),
        (
            "[lockdown]\nretry = 3\n",
            "unknown key 'lockdown.retry' (did you mean 'retry_budget'?)",
        ),
        ("[sandbox]\nx = 1\n", "unknown key 'sandbox'"),
        ("timeout = -1\n", "bad value for 'timeout': expected a finite number > 0, got -1"),
        ("timeout = inf\n", "bad value for 'timeout': expected a finite number > 0"),
        ("[lockdown]\nretry_budget = nan\n", "bad value for 'lockdown.retry_budget'"),
        ("timeout = true\n", "bad value for 'timeout'"),
        ("timeout = 1e20\n", "bad value for 'timeout': expected a number of seconds > 0 and"),
        ("[guard]\ncontained_timeout_s = 1e20\n", "bad value for 'guard.contained_timeout_s'"),
        ("[unlock]\npassword_history = 2147483648\n", "'unlock.password_history'"),
        ('insecure = "yes"\n', "bad value for 'insecure': expected true or false"),
        ('token_cache = "disk"\n', "bad value for 'token_cache'"),
        ('[policy]\nforwarding = "delete"\n', "bad value for 'policy.forwarding'"),
        ("[lockdown]\nworkers = 0\n", "bad value for 'lockdown.workers'"),
        ('[lockdown]\nprotected = "ceo@x"\n', "bad value for 'lockdown.protected'"),
        ('[tickets]\nbackend = "otrs"\n', "bad value for 'tickets.backend'"),
        ('[profiles.prod.policy]\nsignature = "keep"\n', "'profiles.prod.policy.signature'"),
        ("url = \n", "not valid TOML"),
        ("profiles = 3\n", "'profiles' must be a table"),
    ],
)
def test_validation_errors_name_file_key_and_close_match(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_settings(CliValues(config=path), {})
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)
    assert caught.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    "text",
    [
        "[tickets.file]\ndi = 'x'\n",  # too short to say what it abbreviates
        "[detect]\nhtml = 1\n",  # html_sends, html_window_minutes, ...: which?
        "[lockdown]\nzzz = 3\n",
    ],
)
def test_no_suggestion_rather_than_a_guess(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_settings(CliValues(config=path), {})
    assert "did you mean" not in str(caught.value)


def test_a_file_saved_by_a_windows_editor_is_read(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(b'\xef\xbb\xbfurl = "https://mail.example.edu:7071"\r\ntimeout = 12\r\n')
    settings = load_settings(CliValues(config=path), {})
    assert (settings.url, settings.timeout) == ("https://mail.example.edu:7071", 12.0)


def test_unknown_profile_suggests(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", PROFILES)
    with pytest.raises(
        ConfigError, match=r"no profile 'prd' \(--profile\) \(did you mean 'prod'\?\)"
    ):
        load_settings(CliValues(config=path, profile="prd"), {})
    with pytest.raises(ConfigError, match="no configuration file found"):
        load_settings(CliValues(profile="prod"), {})


def test_example_config_is_valid_and_means_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path / "example.toml", EXAMPLE_CONFIG)
    validate_file(path)
    example = load_settings(CliValues(config=path), {})
    default = load_settings(CliValues(), {})
    assert (example.lockdown, example.unlock, example.policy) == (
        default.lockdown,
        default.unlock,
        default.policy,
    )
    assert example.tickets.backend == "file"
