"""config.to_toml: every failover.toml the lab, the scenarios and the benchmarks write comes from it."""

from __future__ import annotations

import tomllib

from failover import config
from failover.lab.topology import DEFAULT_LAB, load
from failover.package_data import conf_dir


def full() -> config.Config:
    """Every section set, every optional field given, odd characters in strings."""
    return config.Config.model_validate({
        "wan": {"interface": "wan0", "probe": "203.0.113.1", "probe_interval_ms": 7},
        "failover": {"table": 101, "priority": 1001, "lan_interface": "br-lan"},
        "control": {"socket": "/run/f o/c.sock", "gateway_port": 7071, "key_file": "/etc/k'ey", "refresh_ms": 500},
        "heartbeat": {"port": 863, "interval_ms": 30, "detect_multiplier": 4, "recover_count": 5,
                      "key_file": "/etc/stamp.key"},
        "election": {"switch_margin": 0.25, "hold_ms": 0},
        "dampening": {"penalty": 2, "half_life_ms": 3, "suppress": 5, "reuse": 4, "max_penalty": 6,
                      "min_clean_ms": 7},
        "gateway": [{"name": "a.b-c_1", "address": "10.0.0.2"}, {"name": "b", "address": "10.0.0.3"}],
        "api": {"listen": "0.0.0.0:8081", "token_file": "/etc/tö\x7fken\t"},
        "journal": {"path": "/var/lib/failover/journal", "max_bytes": 8192},
        "hook": [{"on": ["failover", "failback"], "exec": "/bin/echo \"quoted\" \\ back", "timeout_ms": 10},
                 {"on": ["gateway"], "url": "https://example.org/h", "secret_file": "/s", "queue": 2,
                  "retries": 0}],
    })


def test_what_is_written_reads_back_as_the_same_config():
    for cfg in (full(), config.parse((conf_dir() / "failover.toml").read_text()),
                load(DEFAULT_LAB).router_config("/run/x.sock", "/run/token")):
        assert config.parse(config.to_toml(cfg)) == cfg


def test_every_field_of_the_model_is_written_without_naming_it():
    cfg = full()
    data = tomllib.loads(config.to_toml(cfg))

    def given(model) -> set[str]:  # None is "not set": TOML has no null
        return {k for k in model.model_fields_set if getattr(model, k) is not None}

    for name in cfg.model_fields_set:
        value = getattr(cfg, name)
        if isinstance(value, list):
            assert [set(w) for w in data[name]] == [given(m) for m in value], name
        else:
            assert set(data[name]) == given(value), name


def test_lists_of_sections_are_tables_so_more_can_be_appended_as_text():
    text = config.to_toml(full())
    assert text.count("[[gateway]]") == 2 and text.count("[[hook]]") == 2
    more = text + '\n[[gateway]]\nname = "c"\naddress = "10.0.0.4"\n'
    assert [g.name for g in config.parse(more).gateway] == ["a.b-c_1", "b", "c"]
