"""Every served model is registered once: its BentoML service, its address setting, its own port, its command."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from lakehouse.settings import PROJECT_ROOT, Settings
from serving.cli import register
from serving.registry import SERVED_MODELS, served_model


@pytest.mark.parametrize("model", SERVED_MODELS.values(), ids=SERVED_MODELS)
def test_a_registered_service_names_a_module_and_a_setting_that_exist(model):
    module, _, service_class = model.service.partition(":")
    assert (PROJECT_ROOT / Path(*module.split("."))).with_suffix(".py").is_file() and service_class
    assert model.url_setting in Settings.model_fields


def test_each_service_listens_on_the_port_of_its_own_address():
    fraud = served_model("fraud")
    assert fraud.port(Settings()) == 3001
    assert fraud.port(Settings(fraud_service_url="http://10.0.0.5:4100/")) == 4100
    assert fraud.port(Settings(fraud_service_url="http://fraud.internal")) == fraud.default_port
    ports = [model.port(Settings()) for model in SERVED_MODELS.values()]
    assert len(ports) == len(set(ports))


def test_an_unknown_model_is_named_with_the_registered_ones():
    with pytest.raises(KeyError, match="fraud"):
        served_model("sentiment-v0")


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lakehouse")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_serve_takes_a_registered_model_a_port_and_stop():
    args = parse("serve", "fraud", "--port", "3100")
    assert (args.model, args.port, args.stop) == ("fraud", 3100, False)
    assert parse("serve", "fraud", "--stop").stop
    with pytest.raises(SystemExit):
        parse("serve", "unregistered")


def test_stopping_a_service_that_is_not_running_says_so(tmp_path, capsys):
    args = parse("serve", "fraud", "--stop")
    assert args.handler(Settings(home=tmp_path), args) == 0
    assert capsys.readouterr().out == "no fraud service was running\n"
