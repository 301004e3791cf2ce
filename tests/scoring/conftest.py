from pathlib import Path

import pytest

from questionnaires.loader import load_file
from scoring import compile_instrument


@pytest.fixture(scope="session")
def example_instrument():
    return load_file(Path(__file__).parent / "example.yaml")


@pytest.fixture(scope="session")
def example(example_instrument):
    return compile_instrument(example_instrument.export())
