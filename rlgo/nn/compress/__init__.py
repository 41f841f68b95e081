"""Model compression: int8 post-training quantization, channel and magnitude pruning, distillation losses.

A compressed network is an ordinary rlgo checkpoint (rlgo.nn.checkpoint) whose
`compression` header records what was done, e.g. {"method": "int8", "toolchain":
"onnxruntime", "calibration_positions": 1024, "source": "models/sl9_b6c64.pt"}. Int8
checkpoints hold an ONNX graph instead of torch weights and run on the onnxruntime backend
(rlgo.nn.backend); pruned ones hold torch weights of the smaller shapes and run anywhere.
The training loops that fine-tune or distil on a dataset live in rlgo.train.compress.
"""
