"""Borrowed array views for the search kernels: the same data, no reference count.

Numba counts references to every array a kernel binds to a variable, with an atomic increment and
decrement. A tuple of arrays (TreeArrays, Roots) passed down to an inlined helper is bound once per
call, so a descent paid tens of atomic operations per ply. A borrowed view has no memory-info
pointer, which makes those operations a null check. It is valid only while its owner is alive: use it
inside one kernel call on arrays that the caller holds, and never return it to Python.
"""
from __future__ import annotations

from numba import types
from numba.extending import intrinsic


@intrinsic
def borrowed(typingctx, array):
    """A view of `array` (a Numba array) without a reference count; see the module docstring."""
    if not isinstance(array, types.Array):
        return None

    def codegen(context, builder, signature, args):
        source = context.make_array(array)(context, builder, args[0])
        view = context.make_array(array)(context, builder)
        context.populate_array(view, data=source.data, shape=source.shape, strides=source.strides,
                               itemsize=source.itemsize, meminfo=None)
        return view._getvalue()

    return array(array), codegen
