"""Thin drawing functions, one module per panel: each takes its view-model (see
`adapters/imgui/viewmodels/`), draws it with ImGui and ImPlot, and returns the user's intent or
None. Buttons are drawn with the `button` function they are given (widgets.refusable_button in
the window), disabled with the view-model's reason when it has one."""
