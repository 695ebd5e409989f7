"""The runtime's table of TFLite operator codes (``kws.tflite_ops``, read without TensorFlow)
against TensorFlow's own schema."""

from __future__ import annotations

from tensorflow.lite.python import schema_py_generated as schema

from kws import tflite_ops


def test_operator_codes_match_tensorflow_schema() -> None:
    for code, name in tflite_ops.BUILTIN_NAMES.items():
        assert getattr(schema.BuiltinOperator, name) == code, name
