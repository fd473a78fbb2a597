"""The RunConfig schema: every setting of one run, typed, with defaults and bounds.

A run folder stores the fully resolved config, so the folder alone reproduces the run.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Section(BaseModel):
    """A config section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class AugmentConfig(Section):
    """Training-time augmentation, drawn per image and applied to whole batches."""

    crop: int | None = Field(None, gt=0, description="random crop to this size (centre crop at evaluation)")
    pad: int = Field(0, ge=0, description="padding added before the random crop")
    pad_mode: Literal["zeros", "reflect"] = "zeros"
    flip: bool = Field(False, description="horizontal flip")
    flip_mode: Literal["random", "alternate"] = Field(
        "random", description="random: each image 50% of the time; alternate: each image every other epoch"
    )
    rotate: float = Field(0.0, ge=0, le=180, description="max rotation in degrees")
    translate: float = Field(0.0, ge=0, le=0.5, description="max shift as a fraction of the image size")
    scale: float = Field(0.0, ge=0, lt=1, description="zoom drawn from [1 - scale, 1 + scale]")
    shear: float = Field(0.0, ge=0, lt=90, description="max shear in degrees")
    brightness: float = Field(
        0.0, ge=0, description="max shift added to a whole image, in preprocessed units (std units after standardize)"
    )
    contrast: float = Field(0.0, ge=0, lt=1, description="a whole image scaled by a factor from [1 - c, 1 + c]")
    noise: float = Field(0.0, ge=0, description="std of Gaussian noise added after preprocessing")


class DataConfig(Section):
    """Where the images come from and how they are split, normalised and augmented."""

    source: str = Field("cifar10", description="cifar10, mnist, fashion-mnist, digits, circles, moons, or a path")
    root: str | None = Field(None, description="downloads and the decoded cache (default ~/.cache/cnnlab)")
    val_fraction: float = Field(0.1, ge=0, lt=1)
    train_size: int | None = Field(
        None, gt=0, description="train on only this many images (a stratified subset of what the val split leaves)"
    )
    test_fraction: float = Field(0.2, gt=0, lt=1, description="carved from train when the source has no test set")
    split_seed: int = Field(0, description="seed of the val/test carving, the same for every run by default")
    image_size: int | None = Field(None, gt=0, description="resize every image to this square size")
    preprocess: Literal["none", "standardize", "minmax", "signed", "zca"] = "standardize"
    zca_epsilon: float = Field(1e-2, gt=0, description="added to the covariance eigenvalues before whitening")
    storage: Literal["auto", "memory", "stream"] = Field(
        "auto", description="keep the splits on the device, or stream them from the decoded cache"
    )
    augment: AugmentConfig = Field(default_factory=AugmentConfig)


class ModelConfig(BaseModel):
    """The model's registry name and its own options (checked by the model's builder)."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    name: str = "tme2"
    sync_bn: bool = Field(
        False,
        description="on several processes (torchrun), batch norm over the whole batch rather than each "
        "process's share (CUDA only)",
    )

    def options(self) -> dict[str, Any]:
        """The model's own options, everything but the name and sync_bn (which are cnnlab's, not the model's)."""
        return dict(self.model_extra or {})


class OptimConfig(Section):
    """The optimiser."""

    name: Literal["sgd", "adam", "adamw", "muon"] = Field(
        "sgd",
        description="muon: Muon on the conv filters (renormalised each step: for nets with batch norm after "
        "each conv, such as fastnet), SGD with these keys on every other parameter",
    )
    lr: float = Field(0.01, gt=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    nesterov: bool = False
    weight_decay: float = Field(0.0, ge=0)
    betas: tuple[float, float] = (0.9, 0.999)
    norm_bias_lr_scale: float = Field(
        1.0, gt=0, description="learning-rate multiplier for normalisation-layer biases (their decay is divided by it)"
    )
    muon_lr: float = Field(0.24, gt=0, description="muon: the conv filters' step, relative to their norm")
    muon_momentum: float = Field(0.6, ge=0, lt=1, description="muon: the conv filters' Nesterov momentum")
    muon_ns_steps: int = Field(3, gt=0, description="muon: Newton-Schulz iterations that orthogonalise a step")


class ScheduleConfig(Section):
    """The learning-rate schedule, stepped every batch where it makes sense."""

    name: Literal["none", "step", "exponential", "onecycle", "cosine", "linear"] = "none"
    step_size: int = Field(10, gt=0, description="epochs between decays of the step schedule")
    gamma: float = Field(0.1, gt=0, le=1, description="decay factor of step (per step) and exponential (per epoch)")
    warmup: float = Field(0.0, ge=0, description="epochs of linear warm-up from lr * start_factor")
    start_factor: float = Field(0.1, gt=0, le=1, description="where the warm-up starts, as a fraction of lr")
    min_lr: float = Field(0.0, ge=0, description="floor of cosine and onecycle; the end of linear")


class LookaheadConfig(Section):
    """Weight averaging: every few steps the weights move to an average of their recent values."""

    decay: float = Field(0.0, ge=0, lt=1, description="per-step decay of the average; 0 turns it off")
    every: int = Field(5, gt=0, description="steps between averaging")
    start: float = Field(3.0, ge=0, description="epochs before averaging starts")
    power: float = Field(3.0, ge=0, description="decay grows as (progress ** power): move fast early, average late")


class TrainConfig(Section):
    """The fit loop and the machine it runs on."""

    epochs: int = Field(10, gt=0)
    batch_size: int = Field(128, gt=0)
    eval_batch_size: int = Field(512, gt=0)
    shuffle: bool = True
    early_stop: int = Field(0, ge=0, description="patience in epochs on validation loss; 0 turns it off")
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    seed: int = 0
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N or mps")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    compile: bool | Literal["auto"] = Field(False, description="torch.compile the model; auto: on CUDA only")
    channels_last: bool | Literal["auto"] = "auto"
    threads: int | None = Field(None, gt=0, description="CPU threads for torch (default: all cores)")
    keep_freed_memory: bool = Field(
        True, description="CPU on Linux: glibc keeps freed memory for reuse (1.5x faster training here)"
    )
    tensorboard: bool = False
    progress: bool | Literal["auto"] = "auto"
    eval_every: int = Field(1, gt=0, description="evaluate val/test every N epochs (and always after the last)")
    epoch_zero: bool = Field(
        True, description="evaluate the initial weights on every split first, as epoch 0 (the loss before training)"
    )
    tta: Literal[0, 1, 2] = Field(0, description="test-time augmentation: 0 none, 1 mirror, 2 mirror + 1-pixel shifts")
    tta_fraction: float = Field(
        1.0, gt=0, le=1, description="share of each evaluation batch, least confident first, given the TTA views"
    )
    lookahead: LookaheadConfig = Field(default_factory=LookaheadConfig)

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        base = value.split(":", 1)[0]
        if base not in ("auto", "cpu", "cuda", "mps") or (":" in value and base != "cuda"):
            raise ValueError("must be one of auto, cpu, cuda, cuda:N, mps")
        return value


class RunConfig(Section):
    """Everything one training run needs."""

    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
