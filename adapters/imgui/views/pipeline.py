"""Draws the Pipeline panel, one pipeline at a time, from its view-model
(viewmodels.pipeline)."""

from __future__ import annotations

from imgui_bundle import imgui

from ..viewmodels import pipeline as vm
from ..widgets import RED, ButtonFn, clicked, refusable_button, show
from .training import draw_training_plots, draw_training_summary


def draw_pipeline(view: vm.PipelineView,
                  button: ButtonFn = refusable_button) -> vm.PipelineIntent | None:
    intent: vm.PipelineIntent | None = None
    key = view.name
    if view.targets is not None:
        choice = view.targets
        imgui.set_next_item_width(imgui.get_font_size() * 14)
        changed, chosen = imgui.combo("learn", choice.index, list(choice.labels))
        if changed:
            intent = vm.ChooseTarget(key, choice.choices[chosen])
    if clicked(button, view.train):
        intent = vm.Train(key, view.target)
    imgui.same_line()
    if clicked(button, view.cancel):
        intent = vm.CancelTraining(key)
    if view.progress is not None:
        imgui.progress_bar(view.progress.fraction, (-1, 0), view.progress.overlay)
    elif view.note is not None:
        show(view.note)
    draw_training_summary(view.report)
    if view.train_error:
        imgui.text_colored(RED, "Training did not start:")
        imgui.text_wrapped(view.train_error)

    imgui.separator_text("Predict")
    if clicked(button, view.start):
        intent = vm.StartPredicting(key)
    imgui.same_line()
    if clicked(button, view.stop):
        intent = vm.StopPredicting(key)
    imgui.text_disabled(view.rates)
    for line in view.loops:
        show(line)

    imgui.separator_text("Model")
    imgui.text(view.model)
    imgui.set_next_item_width(-imgui.get_font_size() * 9)
    changed, path = imgui.input_text("##model path", view.path)
    if changed:
        intent = vm.EditModelPath(key, path)
    imgui.same_line()
    if clicked(button, view.save):
        intent = vm.SaveModel(key, path)
    imgui.same_line()
    if clicked(button, view.load):
        intent = vm.LoadModel(key, path)
    if view.model_error:
        imgui.text_colored(RED, view.model_error)
    draw_training_plots(view.report, key)
    return intent

