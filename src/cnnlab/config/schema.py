"""The RunConfig schema: every setting of one run, typed, with defaults and bounds.

A run folder stores the fully resolved config, so the folder alone reproduces the run.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)


def _not_a_switch(value: Any) -> Any:
    """true and false are switches, never the numbers 1 and 0."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


# The field types of every section: pydantic's lax mode would take `train.epochs=true` as 1 epoch and
# `train.shuffle=1` as on. A float still takes an int (lr: 1) and text YAML 1.1 leaves unparsed (lr: 1e-3).
Int = Annotated[int, Strict()]
Float = Annotated[float, BeforeValidator(_not_a_switch)]
Bool = Annotated[bool, Strict()]
MAX_SEED = 2**32 - 1  # the largest seed numpy's and scikit-learn's generators take
Seed = Annotated[int, Strict(), Field(ge=0, le=MAX_SEED)]
Beta = Annotated[float, BeforeValidator(_not_a_switch), Field(ge=0, lt=1)]
Level = Annotated[Literal[0, 1, 2], BeforeValidator(_not_a_switch)]


class Section(BaseModel):
    """A config section: unknown keys are errors, assignments are validated, numbers are finite."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class MixConfig(Section):
    """Mixup or CutMix: each image mixed with another of its batch, its target by the same share."""

    alpha: Float = Field(
        1.0, description="the share of an image's own content is drawn from Beta(alpha, alpha): 1 draws it uniformly"
    )
    prob: Float = Field(1.0, gt=0, le=1, description="chance that an image is mixed at all")

    @model_validator(mode="before")
    @classmethod
    def _number_is_alpha(cls, value: Any) -> Any:
        """`data.augment.mixup=0.2` means alpha 0.2 (timm's --mixup 0.2)."""
        return {"alpha": value} if isinstance(value, int | float) and not isinstance(value, bool) else value

    @field_validator("alpha")
    @classmethod
    def _positive_alpha(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(
                "alpha must be above 0 (0.2 mixes a little, 1.0 draws the share uniformly); "
                "to turn the mixing off, leave the key out or set it to null"
            )
        return value


class EraseConfig(Section):
    """Random erasing (Cutout when the box is a fixed square): a box of each chosen image blanked."""

    prob: Float = Field(0.5, gt=0, le=1, description="chance that an image gets a box erased")
    area: tuple[Float, Float] = Field((0.02, 0.33), description="the box's area as a fraction of the image, drawn from")
    ratio: tuple[Float, Float] = Field((0.3, 3.3), description="the box's height / width, drawn log-uniformly from")
    value: Literal["zeros", "random"] = Field(
        "zeros", description="zeros: the preprocessed mean (0 after standardize); random: N(0, 1) noise"
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """`data.augment.erase=true` takes the defaults; a number is the probability."""
        if value is True:
            return {}
        return {"prob": value} if isinstance(value, int | float) and not isinstance(value, bool) else value

    @field_validator("area", "ratio")
    @classmethod
    def _ordered_range(cls, value: tuple[float, float], info: ValidationInfo) -> tuple[float, float]:
        low, high = value
        if not 0 < low <= high or (info.field_name == "area" and high > 1):
            assert info.field_name is not None  # a field validator is always called with its field's name
            bound = "0 < low <= high <= 1" if info.field_name == "area" else "0 < low <= high"
            raise ValueError(
                f"give [low, high] with {bound}, e.g. {list(EraseConfig.model_fields[info.field_name].default)}"
            )
        return value


class RandAugmentConfig(Section):
    """RandAugment (Cubuk et al. 2020) on the operations that act on normalised images: each image gets `ops`
    operations drawn from identity, rotate, shear x/y, translate x/y, contrast and sharpness, at `magnitude`."""

    ops: Int = Field(2, gt=0, le=8, description="operations applied to each image, one after the other")
    magnitude: Float = Field(9.0, ge=0, le=10, description="strength on timm's 0-10 scale (rotate 3 degrees a unit)")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """`data.augment.randaugment=true` takes the defaults (timm's rand-m9-n2)."""
        return {} if value is True else value


class AugmentConfig(Section):
    """Training-time augmentation, drawn per image and applied to whole batches."""

    crop: Int | None = Field(None, gt=0, description="random crop to this size (centre crop at evaluation)")
    pad: Int = Field(0, ge=0, description="padding added before the random crop")
    pad_mode: Literal["zeros", "reflect"] = "zeros"
    flip: Bool = Field(False, description="horizontal flip")
    flip_mode: Literal["random", "alternate"] = Field(
        "random", description="random: each image 50% of the time; alternate: each image every other epoch"
    )
    rotate: Float = Field(0.0, ge=0, le=180, description="max rotation in degrees")
    translate: Float = Field(0.0, ge=0, le=0.5, description="max shift as a fraction of the image size")
    scale: Float = Field(0.0, ge=0, lt=1, description="zoom drawn from [1 - scale, 1 + scale]")
    shear: Float = Field(0.0, ge=0, lt=90, description="max shear in degrees")
    brightness: Float = Field(
        0.0, ge=0, description="max shift added to a whole image, in preprocessed units (std units after standardize)"
    )
    contrast: Float = Field(0.0, ge=0, lt=1, description="a whole image scaled by a factor from [1 - c, 1 + c]")
    noise: Float = Field(0.0, ge=0, description="std of Gaussian noise added after preprocessing")
    randaugment: RandAugmentConfig | None = Field(None, description="RandAugment's batched operations; null: off")
    erase: EraseConfig | None = Field(None, description="random erasing / Cutout; null: off")
    mixup: MixConfig | None = Field(None, description="mixup: images blended with another of the batch; null: off")
    cutmix: MixConfig | None = Field(
        None, description="CutMix: a box pasted from another image of the batch; null: off"
    )

    @field_validator("randaugment", "erase", "mixup", "cutmix", mode="before")
    @classmethod
    def _false_is_off(cls, value: Any) -> Any:
        return None if value is False else value


class DataConfig(Section):
    """Where the images come from and how they are split, normalised and augmented."""

    source: str = Field("cifar10", description="cifar10, mnist, fashion-mnist, digits, circles, moons, or a path")
    root: str | None = Field(None, description="downloads and the decoded cache (default ~/.cache/cnnlab)")
    val_fraction: Float = Field(0.1, ge=0, lt=1)
    train_size: Int | None = Field(
        None, gt=0, description="train on only this many images (a stratified subset of what the val split leaves)"
    )
    test_fraction: Float = Field(0.2, gt=0, lt=1, description="carved from train when the source has no test set")
    split_seed: Seed = Field(0, description="seed of the val/test carving, the same for every run by default")
    image_size: Int | None = Field(None, gt=0, description="resize every image to this square size")
    preprocess: Literal["none", "standardize", "minmax", "signed", "zca"] = "standardize"
    zca_epsilon: Float = Field(1e-2, gt=0, description="added to the covariance eigenvalues before whitening")
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

    name: Literal["sgd", "adam", "adamw", "rmsprop", "adagrad", "muon"] = Field(
        "sgd",
        description="muon: Muon on the conv filters (renormalised each step: for nets with batch norm after "
        "each conv, such as fastnet), SGD with these keys on every other parameter",
    )
    lr: Float = Field(0.01, gt=0)
    momentum: Float = Field(0.9, ge=0, lt=1)
    nesterov: Bool = False
    weight_decay: Float = Field(0.0, ge=0)
    betas: tuple[Beta, Beta] = Field((0.9, 0.999), description="Adam's decay rates, each in [0, 1)")
    alpha: Float = Field(0.99, gt=0, lt=1, description="rmsprop: decay of the running average of squared gradients")
    clip_norm: Float = Field(
        0.0, ge=0, description="clip the gradients' total (L2) norm to this before each step; 0 turns it off"
    )
    norm_bias_lr_scale: Float = Field(
        1.0, gt=0, description="learning-rate multiplier for normalisation-layer biases (their decay is divided by it)"
    )
    muon_lr: Float = Field(0.24, gt=0, description="muon: the conv filters' step, relative to their norm")
    muon_momentum: Float = Field(0.6, ge=0, lt=1, description="muon: the conv filters' Nesterov momentum")
    muon_ns_steps: Int = Field(3, gt=0, description="muon: Newton-Schulz iterations that orthogonalise a step")
    muon_ns_bf16: bool = Field(
        False,
        description="muon: orthogonalise in bf16 when the run computes in bf16, as the record does (5x cheaper on "
        "native-bf16 CPUs; off by default: the presets' figures were measured in fp32, and two of four runs "
        "with it came 0.2 and 0.65 points lower)",
    )


class ScheduleConfig(Section):
    """The learning-rate schedule, stepped every batch where it makes sense."""

    name: Literal["none", "step", "multistep", "exponential", "onecycle", "cosine", "linear", "plateau"] = "none"
    step_size: Int = Field(10, gt=0, description="epochs between decays of the step schedule")
    milestones: list[Int] = Field(
        default_factory=list, validate_default=True, description="multistep: the epochs after which lr is decayed"
    )
    gamma: Float = Field(
        0.1,
        gt=0,
        le=1,
        description="decay factor of step and multistep (per milestone), exponential (per epoch) "
        "and plateau (per reduction)",
    )
    patience: Int = Field(10, ge=0, description="plateau: epochs without a lower validation loss before a reduction")
    warmup: Float = Field(0.0, ge=0, description="epochs of linear warm-up from lr * start_factor")
    start_factor: Float = Field(0.1, gt=0, le=1, description="where the warm-up starts, as a fraction of lr")
    min_lr: Float = Field(0.0, ge=0, description="floor of cosine, onecycle and plateau; the end of linear")

    @field_validator("milestones")
    @classmethod
    def _increasing_epochs(cls, value: list[int], info: ValidationInfo) -> list[int]:
        if info.data.get("name") == "multistep" and not value:
            raise ValueError("schedule.name=multistep needs epochs to decay after, e.g. schedule.milestones=[30,60]")
        if any(epoch < 1 for epoch in value):
            raise ValueError("milestones are epochs, counted from 1: give positive numbers, e.g. [30, 60]")
        if any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError(f"milestones must be increasing epochs: write them in order, e.g. {sorted(set(value))}")
        return value

    @field_validator("gamma")
    @classmethod
    def _plateau_reduces(cls, value: float, info: ValidationInfo) -> float:
        if info.data.get("name") == "plateau" and value >= 1:
            raise ValueError("schedule.name=plateau multiplies lr by gamma at each reduction: give gamma < 1, e.g. 0.1")
        return value


class LookaheadConfig(Section):
    """Weight averaging: every few steps the weights move to an average of their recent values."""

    decay: Float = Field(0.0, ge=0, lt=1, description="per-step decay of the average; 0 turns it off")
    every: Int = Field(5, gt=0, description="steps between averaging")
    start: Float = Field(3.0, ge=0, description="epochs before averaging starts")
    power: Float = Field(3.0, ge=0, description="decay grows as (progress ** power): move fast early, average late")


class SelectionConfig(Section):
    """Training on the hardest examples of each batch as a small proxy fastnet judges them (airbench96's
    selection): the proxy scores every batch and trains on its own kept share every few steps."""

    keep: Float = Field(0.5, gt=0, lt=1, description="share of each batch trained on: the proxy's highest losses")
    widths: tuple[Int, ...] = Field((32, 64, 64), min_length=1, description="the proxy fastnet's block widths")
    convs_per_block: Int = Field(2, gt=0, description="the proxy fastnet's convs a block")
    train_every: Int = Field(4, gt=0, description="steps between the proxy's own training steps")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """`train.selection=true` takes the defaults (airbench96's: half of each batch, a 32/64/64 proxy)."""
        return {} if value is True else value


class TrainConfig(Section):
    """The fit loop and the machine it runs on."""

    epochs: Int = Field(10, gt=0)
    batch_size: Int = Field(128, gt=0)
    eval_batch_size: Int = Field(512, gt=0)
    shuffle: Bool = True
    early_stop: Int = Field(0, ge=0, description="patience in epochs on validation loss; 0 turns it off")
    label_smoothing: Float = Field(0.0, ge=0, lt=1)
    seed: Seed = Field(0, description="the run's seed: weights, shuffling, augmentation, dropout")
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N or mps")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    compile: Bool | Literal["auto"] = Field(False, description="torch.compile the model; auto: on CUDA only")
    channels_last: Bool | Literal["auto"] = "auto"
    threads: Int | None = Field(None, gt=0, description="CPU threads for torch (default: all cores)")
    keep_freed_memory: Bool = Field(
        True, description="CPU on Linux: glibc keeps freed memory for reuse (1.5x faster training here)"
    )
    tensorboard: Bool = False
    progress: Bool | Literal["auto"] = "auto"
    eval_every: Int = Field(1, gt=0, description="evaluate val/test every N epochs (and always after the last)")
    epoch_zero: Bool = Field(
        True, description="evaluate the initial weights on every split first, as epoch 0 (the loss before training)"
    )
    tta: Level = Field(0, description="test-time augmentation: 0 none, 1 mirror, 2 mirror + 1-pixel shifts")
    tta_fraction: Float = Field(
        1.0, gt=0, le=1, description="share of each evaluation batch, least confident first, given the TTA views"
    )
    lookahead: LookaheadConfig = Field(default_factory=LookaheadConfig)
    selection: SelectionConfig | None = Field(
        None, description="train on the hardest share of each batch, as a small proxy net judges it; null: off"
    )
    ema: Float = Field(
        0.0,
        ge=0,
        lt=1,
        description="decay of an exponential moving average of the weights, evaluated and saved "
        "in place of the raw weights (e.g. 0.999); 0 turns it off",
    )

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
