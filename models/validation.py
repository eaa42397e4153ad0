"""The shared argument checks (as keras/src/utils/argument_validation.py): errors name the argument and
echo the bad value ("Received: ratio=1.5"). Imports nothing, so any module of any package may use it."""


def require(condition, name, value, expectation):
    """Raise ValueError naming the argument and echoing the bad value (Keras' habit)."""
    if not condition:
        raise ValueError(f"{name} {expectation}. Received: {name}={value!r}")
