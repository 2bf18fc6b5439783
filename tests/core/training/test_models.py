import pytest
import torch
import torchvision
from torch import nn

from resnet_core.training.models import (
    ACTIVATIONS,
    ARCHS,
    CIFAR_DEPTHS,
    IMAGENET_LAYERS,
    build_model,
    count_parameters,
)

# He et al. (2015), Table 6: parameters of the CIFAR-10 ResNets.
PAPER_PARAMS = {"resnet20": 0.27e6, "resnet32": 0.46e6, "resnet44": 0.66e6,
                "resnet56": 0.85e6, "resnet110": 1.7e6}


@pytest.mark.parametrize("arch", list(PAPER_PARAMS))
def test_cifar_parameter_counts_match_the_paper(arch):
    n = count_parameters(build_model(arch, 10))
    assert abs(n - PAPER_PARAMS[arch]) / PAPER_PARAMS[arch] < 0.02, n


def test_the_6n_plus_2_family_its_width_and_the_strided_stem():
    # resnet8/14 are the paper's family at n=1 and n=2: 6n+2 weighted layers.
    for arch, layers in (("resnet8", 8), ("resnet14", 14), ("resnet20", 20)):
        model = build_model(arch, 10, 1)
        convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)]
        assert len(convs) + 1 == layers  # the 3x3 convolutions and the classifier
        assert CIFAR_DEPTHS[arch] == (layers - 2) // 6
    base, wide = build_model("resnet14", 10, 1), build_model("resnet14", 10, 1, width=32,
                                                            stem="strided")
    assert [s[0].conv1.out_channels for s in wide.stages] == [32, 64, 128]
    assert 3.5 < count_parameters(wide) / count_parameters(base) < 4.1  # twice the width
    x = torch.zeros(2, 1, 28, 28)
    assert base.forward_features(x).shape == (2, 64, 7, 7)
    assert wide.forward_features(x).shape == (2, 128, 4, 4)  # the stem halved 28 to 14
    with pytest.raises(ValueError, match="width must be an integer"):
        build_model("resnet20", 10, width=0)


@pytest.mark.parametrize("arch", ARCHS)
def test_every_arch_classifies_small_grayscale_and_rgb_inputs(arch):
    for channels, size in ((1, 8), (3, 32)):
        model = build_model(arch, 7, channels, input_size=size).eval()
        with torch.no_grad():
            out = model(torch.randn(2, channels, size, size))
        assert out.shape == (2, 7)
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("arch", list(IMAGENET_LAYERS))
def test_imagenet_style_matches_torchvision_exactly(arch):
    ours = build_model(arch, 1000, stem="imagenet").eval()
    theirs = getattr(torchvision.models, arch)(weights=None).eval()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(ours(x), theirs(x))


def test_auto_stem_is_small_up_to_64_px_and_imagenet_above():
    assert isinstance(build_model("resnet18", 10, input_size=32).maxpool, nn.Identity)
    assert build_model("resnet18", 10, input_size=32).conv1.kernel_size == (3, 3)
    big = build_model("resnet18", 10, input_size=224)
    assert big.conv1.kernel_size == (7, 7) and isinstance(big.maxpool, nn.MaxPool2d)


@pytest.mark.parametrize("norm", ["batch", "group", "layer", "none"])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("residual", [True, False])
def test_options_train_a_step(norm, activation, residual):
    model = build_model("resnet20", 10, 1, norm=norm, activation=activation, residual=residual)
    x, y = torch.randn(4, 1, 8, 8), torch.randint(0, 10, (4,))
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    assert torch.isfinite(loss)
    assert model.conv1.weight.grad is not None and model.conv1.weight.grad.abs().sum() > 0


def test_plain_twin_has_no_shortcuts_and_same_main_path():
    plain = build_model("resnet56", 10, residual=False)
    resid = build_model("resnet56", 10)
    assert all(m.downsample is None and not m.residual for s in plain.stages for m in s)
    # Only the 1x1 projection shortcuts differ: 2 convs + 2 norms.
    assert count_parameters(resid) - count_parameters(plain) == 16 * 32 + 32 * 64 + 2 * (32 + 64)


@pytest.mark.parametrize("arch", ["resnet20", "resnet18", "resnet50"])
def test_each_activation_module_is_called_once_and_not_inplace(arch):
    model = build_model(arch, 10, input_size=32).eval()
    calls = {}
    acts = [m for m in model.modules() if isinstance(m, tuple(ACTIVATIONS.values()))]
    for m in acts:
        assert not getattr(m, "inplace", False)
        m.register_forward_hook(lambda mod, i, o: calls.__setitem__(id(mod), calls.get(id(mod), 0) + 1))
    with torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
    assert len(calls) == len(acts)
    assert set(calls.values()) == {1}


def test_forward_is_head_of_features():
    model = build_model("resnet32", 10).eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        feats = model.forward_features(x)
        assert feats.shape == (3, 64, 8, 8)
        assert torch.equal(model.forward_head(feats), model(x))


@pytest.mark.parametrize("kwargs, word", [({"arch": "resnet19"}, "arch"), ({"norm": "instance"}, "norm"),
                                          ({"activation": "elu"}, "activation"), ({"stem": "big"}, "stem")])
def test_unknown_options_name_what_is_accepted(kwargs, word):
    args = {"arch": "resnet20", "num_classes": 10, **kwargs}
    with pytest.raises(ValueError, match=f"unknown {word}.*choose one of"):
        build_model(**args)
