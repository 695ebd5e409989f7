"""C's 32-bit ``int`` arithmetic inside Numba kernels: add, subtract, multiply, shift, int16 store.

Numba widens every integer operation to int64, so a loop written with ``+`` and ``*`` runs on
four int64 lanes per 256-bit register even when its values are int16. kissfft's fixed-point
code computes in 32-bit ``int`` (int16 operands promoted, products ``SAMPPROD = int32_t``);
these intrinsics emit that arithmetic as LLVM i32 instructions, so its loops vectorise eight
lanes wide. Arguments of other integer types are converted to int32 first (int16 values and
small constants unchanged). Results wrap modulo 2**32; the FFT's callers show theirs never do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

_I16 = ir.IntType(16)
_I32 = ir.IntType(32)
_BINARY = types.int32(types.int32, types.int32)


@intrinsic
def _add32(typingctx: Any, a: Any, b: Any) -> tuple[Any, Any]:
    return _BINARY, lambda context, builder, signature, args: builder.add(args[0], args[1])


@intrinsic
def _sub32(typingctx: Any, a: Any, b: Any) -> tuple[Any, Any]:
    return _BINARY, lambda context, builder, signature, args: builder.sub(args[0], args[1])


@intrinsic
def _mul32(typingctx: Any, a: Any, b: Any) -> tuple[Any, Any]:
    return _BINARY, lambda context, builder, signature, args: builder.mul(args[0], args[1])


@intrinsic
def _shl32(typingctx: Any, a: Any, bits: Any) -> tuple[Any, Any]:
    return _BINARY, lambda context, builder, signature, args: builder.shl(args[0], args[1])


@intrinsic
def _shr32(typingctx: Any, a: Any, bits: Any) -> tuple[Any, Any]:
    return _BINARY, lambda context, builder, signature, args: builder.ashr(args[0], args[1])


@intrinsic
def _store_int16(typingctx: Any, a: Any) -> tuple[Any, Any]:
    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        return builder.sext(builder.trunc(args[0], _I16), _I32)

    return types.int32(types.int32), codegen


# The kernel-side signatures (Numba's stubs type an intrinsic as its typing function).
add32 = cast(Callable[[int, int], int], _add32)
"""``a + b`` in int32."""
sub32 = cast(Callable[[int, int], int], _sub32)
"""``a - b`` in int32."""
mul32 = cast(Callable[[int, int], int], _mul32)
"""``a * b`` in int32 (the low 32 bits of the product)."""
shl32 = cast(Callable[[int, int], int], _shl32)
"""``a << bits`` in int32 (the low 32 bits); ``bits`` within 0..31."""
shr32 = cast(Callable[[int, int], int], _shr32)
"""``a >> bits`` in int32, arithmetic (sign-extending, as C's ``>>`` of a negative int
compiles on every target TFLM supports); ``bits`` within 0..31."""
store_int16 = cast(Callable[[int], int], _store_int16)
"""What a C store of int32 ``a`` to ``int16_t`` keeps (two's-complement wrap), as int32."""
