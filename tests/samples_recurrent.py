"""Sample uses of the sequence layers (archspec/layers/recurrent.py, conv_recurrent.py and
wrappers.py), added to tests/layer_samples.py's SAMPLES: every kind and notable setting."""
from __future__ import annotations

from layer_samples import SAMPLES

STEPS = [6, 4]            # 6 steps of 4 features
FRAMES_1D, FRAMES_2D, FRAMES_3D = [4, 9, 2], [3, 7, 6, 2], [2, 5, 5, 4, 1]


def _rnn_cases(extra: list) -> list:
    return [(STEPS, {"units": 3}),
            (STEPS, {"units": 2, "return_sequences": True, "use_bias": False}),
            (STEPS, {"units": 3, "go_backwards": True, "activation": "relu"}),
            (STEPS, {"units": 2, "return_state": True}),
            *extra]


def _conv_lstm_cases(frames: list) -> list:
    return [(frames, {"filters": 3, "kernel_size": 3}),
            (frames, {"filters": 2, "kernel_size": 3, "padding": "same", "return_sequences": True}),
            (frames, {"filters": 2, "kernel_size": 2, "strides": 2, "use_bias": False}),
            (frames, {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "padding": "same", "return_state": True})]


RECURRENT_SAMPLES: dict[str, list] = {
    "Embedding": [([7], {"input_dim": 20, "output_dim": 3}),
                  ([3, 5], {"input_dim": 9, "output_dim": 2, "mask_zero": True})],
    "SimpleRNN": _rnn_cases([]),
    "LSTM": _rnn_cases([(STEPS, {"units": 3, "unit_forget_bias": False, "return_sequences": True})]),
    "GRU": _rnn_cases([(STEPS, {"units": 3, "reset_after": False}),
                       (STEPS, {"units": 2, "reset_after": False, "use_bias": False, "return_sequences": True})]),
    "ConvLSTM1D": _conv_lstm_cases(FRAMES_1D),
    "ConvLSTM2D": _conv_lstm_cases(FRAMES_2D),
    "ConvLSTM3D": [(FRAMES_3D, {"filters": 2, "kernel_size": 3}),
                   (FRAMES_3D, {"filters": 2, "kernel_size": [1, 3, 3], "padding": "same", "strides": [1, 2, 2]})],
    "Bidirectional": [
        (STEPS, {"layer": {"LSTM": {"units": 3}}}),
        (STEPS, {"layer": {"GRU": {"units": 2, "return_sequences": True}}, "merge_mode": "sum"}),
        (STEPS, {"layer": {"SimpleRNN": {"units": 2}}, "merge_mode": "mul"}),
        (STEPS, {"layer": {"LSTM": {"units": 2, "return_sequences": True, "use_bias": False}}, "merge_mode": "ave"}),
        (STEPS, {"layer": {"GRU": {"units": 3, "reset_after": False}}, "merge_mode": None}),
        (STEPS, {"layer": {"LSTM": {"units": 2, "return_state": True}}}),
        (FRAMES_2D, {"layer": {"ConvLSTM2D": {"filters": 2, "kernel_size": 3, "padding": "same"}}}),
    ],
    "TimeDistributed": [
        ([5, 4], {"layer": {"Dense": {"units": 3}}}),
        ([3, 9, 8, 2], {"layer": {"Conv2D": {"filters": 4, "kernel_size": 3}}}),
        ([3, 9, 8, 2], {"layer": {"Conv2D": {"filters": 2, "kernel_size": 3, "strides": 2, "padding": 1}}}),
        ([3, 9, 8, 2], {"layer": "Flatten"}),
        ([3, 9, 8, 2], {"layer": {"MaxPooling2D": {"pool_size": 2}}}),
        ([2, 6, 4], {"layer": {"LSTM": {"units": 3}}}),
        ([3, 9, 8, 2], {"layer": {"BatchNormalization": None}}),
    ],
}
SAMPLES.update(RECURRENT_SAMPLES)
