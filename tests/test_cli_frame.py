"""The command-line frame: global options anywhere, config precedence, errors, output files."""

from __future__ import annotations

import json

import pytest

from vidq.cli.app import hoist_global_options


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["cache", "info", "--json"], ["--json", "cache", "info"]),
        (["probe", "a.mp4", "-o", "x.json", "-vv"], ["-o", "x.json", "-vv", "probe", "a.mp4"]),
        (["probe", "-ox.json", "a.mp4"], ["-o", "x.json", "probe", "a.mp4"]),
        (["probe", "--format=json", "a.mp4"], ["--format=json", "probe", "a.mp4"]),
        (["probe", "--", "--json"], ["probe", "--", "--json"]),
        (["--device", "cpu", "probe", "f"], ["--device", "cpu", "probe", "f"]),
    ],
)
def test_hoist_global_options(args, expected):
    assert hoist_global_options(args) == expected


def test_json_after_command(cli):
    r = cli("cache", "info", "--json")
    assert r.exit_code == 0
    assert json.loads(r.stdout)["schema"] == "vidq.cache/1"


def test_unknown_option_is_one_line_exit_2(cli):
    r = cli("cache", "info", "--frobnicate")
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and "--frobnicate" in r.stderr


def test_unknown_command_exit_2(cli):
    r = cli("no-such-command")
    assert r.exit_code == 2 and r.stderr.startswith("vidq: error:")


def test_bad_device_exit_2(cli):
    r = cli("--device", "gpu7", "cache", "info")
    assert r.exit_code == 2 and "--device" in r.stderr


def test_unsupported_format_exit_2(cli):
    r = cli("cache", "info", "--format", "srt")
    assert r.exit_code == 2 and "srt" in r.stderr and r.stdout == ""


def test_config_file_sets_global_format(cli, isolated_env):
    cfg = isolated_env / "config" / "vidq"
    cfg.mkdir(parents=True)
    (cfg / "config.toml").write_text('format = "json"\n')
    r = cli("cache", "info")
    assert json.loads(r.stdout)["enabled"] is True


def test_env_beats_config_and_flag_beats_env(cli, isolated_env, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'cache_dir = "{tmp_path / "from-config"}"\n')
    r = cli("--config", cfg, "cache", "info", "--json")
    assert json.loads(r.stdout)["root"].endswith("from-config")
    r = cli("--config", cfg, "cache", "info", "--json", env={"VIDQ_CACHE_DIR": str(tmp_path / "from-env")})
    assert json.loads(r.stdout)["root"].endswith("from-env")
    r = cli("--config", cfg, "cache", "info", "--json", "--cache-dir", tmp_path / "from-flag",
            env={"VIDQ_CACHE_DIR": str(tmp_path / "from-env")})
    assert json.loads(r.stdout)["root"].endswith("from-flag")


def test_broken_config_is_exit_2(cli, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("x = [\n")
    r = cli("--config", cfg, "cache", "info")
    assert r.exit_code == 2 and "bad.toml" in r.stderr and r.stderr.count("\n") == 1


def test_missing_named_config_is_exit_2(cli, tmp_path):
    r = cli("--config", tmp_path / "nope.toml", "cache", "info")
    assert r.exit_code == 2 and "nope.toml" in r.stderr


def test_output_file_written_atomically(cli, tmp_path):
    out = tmp_path / "info.json"
    r = cli("cache", "info", "--json", "-o", out)
    assert r.exit_code == 0 and r.stdout == ""
    assert json.loads(out.read_text())["schema"] == "vidq.cache/1"
    assert [p.name for p in tmp_path.iterdir()] == ["info.json"]


def test_output_not_created_on_error(cli, tmp_path):
    out = tmp_path / "never.json"
    r = cli("cache", "info", "--format", "srt", "-o", out)
    assert r.exit_code == 2 and not out.exists()


def test_version(cli):
    r = cli("--version")
    assert r.exit_code == 0 and r.stdout.startswith("vidq ")


def test_help_lists_exit_codes(cli):
    r = cli("--help")
    assert r.exit_code == 0
    assert "Exit codes" in r.stdout and "130" in r.stdout


def test_subprocess_exit_codes_and_streams(run_vidq):
    r = run_vidq("cache", "info", "--bogus")
    assert r.exit_code == 2 and r.stdout == "" and "Traceback" not in r.stderr
