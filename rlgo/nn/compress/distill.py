"""Knowledge distillation loss (Hinton et al. 2015) for policy + value networks.

policy: alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T))
        + (1 - alpha) * CE(target, softmax(student))
value:  value_weight * (a_v * MSE(student, teacher value) + (1 - a_v) * MSE(student, outcome)),
        a_v = value_alpha, or alpha when value_alpha is -1

`target` is a distribution over moves: one-hot expert moves from game records, or a zero
run's root visit distributions (soft targets from search). The T^2 keeps the soft term's
gradients on the scale of the hard term's as T changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


class DistillError(ValueError):
    """Distillation settings out of range, or a teacher that does not fit the student or data."""


@dataclass(frozen=True)
class DistillLoss:
    """Weights of the distillation loss."""

    temperature: float = 2.0
    """Softmax temperature T of the soft term (1 = the policies as they are)."""
    alpha: float = 0.5
    """Share of the soft (teacher) terms; 1 - alpha goes to the hard targets."""
    value_weight: float = 0.25
    """Weight of the value terms against the policy terms."""
    value_alpha: float = -1.0
    """Share of the teacher's value in the value target (-1: alpha). 0 learns the value from the outcomes
    alone, for a teacher whose value is less accurate than the results."""

    def __post_init__(self):
        if not self.temperature > 0:
            raise DistillError(f"temperature must be > 0, got {self.temperature!r}")
        if not 0.0 <= self.alpha <= 1.0:
            raise DistillError(f"alpha must be in [0, 1], got {self.alpha!r}")
        if not (0.0 <= self.value_alpha <= 1.0 or self.value_alpha == -1.0):
            raise DistillError(f"value_alpha must be in [0, 1] or -1 (alpha), got {self.value_alpha!r}")
        if not self.value_weight >= 0:
            raise DistillError(f"value_weight must be >= 0, got {self.value_weight!r}")

    def __call__(self, student: dict[str, torch.Tensor], teacher: dict[str, torch.Tensor],
                 target: torch.Tensor, outcome: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """(total loss, its parts as floats) of student outputs against teacher outputs and targets.

        student, teacher: {"policy": logits [B, A], "value": [B]}; target float [B, A] rows
        summing to 1; outcome float [B] in [-1, 1]; all for the side to move.
        """
        t = self.temperature
        log_student = F.log_softmax(student["policy"], dim=1)
        soft = F.kl_div(F.log_softmax(student["policy"] / t, dim=1), F.log_softmax(teacher["policy"] / t, dim=1),
                        reduction="batchmean", log_target=True) * t * t
        hard = -(target * log_student).sum(dim=1).mean()
        value_soft = F.mse_loss(student["value"], teacher["value"])
        value_hard = F.mse_loss(student["value"], outcome)
        a_v = self.alpha if self.value_alpha == -1.0 else self.value_alpha
        total = (self.alpha * soft + (1 - self.alpha) * hard
                 + self.value_weight * (a_v * value_soft + (1 - a_v) * value_hard))
        parts = {"soft": soft.item(), "hard": hard.item(), "value_soft": value_soft.item(),
                 "value_hard": value_hard.item(), "loss": total.item()}
        return total, parts
