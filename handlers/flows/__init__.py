"""The engine every entry and edit flow runs on (docs/flow-engine.md): `flow` says what a flow
is (fields, choices, the save), `engine` asks, receives and routes the flow buttons, `render`
draws a step, `field_parsers` adapts the pure parsers of storage to a field's `Parser`.
"""
