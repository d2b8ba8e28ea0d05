"""Kernel and hardware primitives, one module each; `spec/dispatch.py` maps statement names to them.

Every lowering function has one of two shapes: a statement `(model, ctx, stmt) -> None` or a CFG
node `(model, ctx) -> None`. `ctx` (context.Context) is the location being lowered as a value:
its CPU's frame state, the guard `here`, the lock-owner number, `goto`, the label maker.
Transitions go to `model.b` (build.Builder), nothing else changes.
"""
