"""ddlopt.surfaces: gradients against torch autograd, minima where they are claimed."""

import numpy as np
import pytest
import torch

from ddlopt import surfaces

TORCH_FORMULAS = {
    "Quadratic": lambda x, y: 0.5 * (x**2 + 25.0 * y**2),
    "Rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
    "Beale": lambda x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2,
    "Himmelblau": lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
    "Saddle": lambda x, y: 0.5 * (x**2 - y**2),
}
SURFACES = [surfaces.Quadratic(25.0), surfaces.Rosenbrock(), surfaces.Beale(), surfaces.Himmelblau(),
            surfaces.Saddle()]


@pytest.mark.parametrize("surface", SURFACES, ids=repr)
def test_value_and_gradient_match_autograd_on_a_grid(surface):
    X, Y, Z = surface.grid(25)
    points = torch.tensor(np.stack([X, Y], -1), requires_grad=True)
    value = TORCH_FORMULAS[type(surface).__name__](points[..., 0], points[..., 1])
    value.sum().backward()
    assert np.allclose(Z, value.detach().numpy(), rtol=1e-13, atol=1e-13)
    grad = surface.gradient(np.stack([X, Y], -1))
    assert grad.shape == (25, 25, 2)
    assert np.allclose(grad, points.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("surface", SURFACES[:4], ids=repr)
def test_the_minima_are_minima(surface):
    for point in surface.minima:
        assert surface(point) == pytest.approx(surface.min_value, abs=1e-20)
        assert np.linalg.norm(surface.gradient(point)) < 1e-12
    assert surface(surface.start) > surface.min_value


def test_saddle_is_stationary_but_not_a_minimum():
    s = surfaces.Saddle()
    assert np.array_equal(s.gradient([0.0, 0.0]), [0.0, 0.0]) and len(s.minima) == 0
    assert s([0.0, 0.1]) < s([0.0, 0.0])


def test_quadratic_hessian_and_noisy_gradient():
    q = surfaces.NoisyQuadratic(condition_number=10, noise=0.5, rng=0)
    assert np.array_equal(q.hessian, np.diag([1.0, 10.0]))
    x = np.array([1.0, 1.0])
    samples = np.array([q.gradient(x) for _ in range(4000)])
    assert np.allclose(samples.mean(0), q.true_gradient(x), atol=0.05)   # unbiased
    assert np.allclose(samples.std(0), 0.5, atol=0.03)
    again = surfaces.NoisyQuadratic(condition_number=10, noise=0.5, rng=0)
    assert np.array_equal(again.gradient(x), samples[0])                  # seeded


def test_a_rotated_quadratic_is_the_bowl_turned():
    """angle=phi: H = R diag(1, kappa) R^T, the value and the gradient those of
    theta^T H theta / 2 (against autograd), the curvatures unchanged; angle=0 is the bowl
    as it was, bit for bit."""
    phi = np.pi / 6
    bowl = surfaces.Quadratic(25.0, angle=phi)
    c, s = np.cos(phi), np.sin(phi)
    rotation = np.array([[c, -s], [s, c]])
    assert np.allclose(bowl.hessian, rotation @ np.diag([1.0, 25.0]) @ rotation.T, atol=1e-14)
    assert np.allclose(np.linalg.eigvalsh(bowl.hessian), [1.0, 25.0], rtol=1e-14)
    # the point (1, 0) turned by phi lies on the flat axis, where f = 1/2
    assert bowl([c, s]) == pytest.approx(0.5, rel=1e-14)
    X, Y, Z = bowl.grid(9)
    points = torch.tensor(np.stack([X, Y], -1), requires_grad=True)
    H = torch.tensor(bowl.hessian)
    value = 0.5 * torch.einsum("...i,ij,...j->...", points, H, points)
    value.sum().backward()
    assert np.allclose(Z, value.detach().numpy(), rtol=1e-13, atol=1e-13)
    assert np.allclose(bowl.gradient(np.stack([X, Y], -1)), points.grad.numpy(), rtol=1e-12,
                       atol=1e-12)
    aligned, plain = surfaces.Quadratic(25.0, angle=0.0), surfaces.Quadratic(25.0)
    point = np.array([0.3, -1.7])
    assert aligned(point) == 0.5 * (0.3**2 + 25.0 * 1.7**2) == plain(point)
    assert np.array_equal(aligned.gradient(point), [0.3, -25.0 * 1.7])
    assert repr(bowl) == "Quadratic(condition_number=25, angle=0.5236)"
    assert repr(plain) == "Quadratic(condition_number=25)"


@pytest.mark.parametrize("build, error, message", [
    (lambda: surfaces.Quadratic(0), ValueError, "condition_number must be positive and finite, got 0"),
    (lambda: surfaces.Quadratic("10"), TypeError, "condition_number must be a number"),
    (lambda: surfaces.Quadratic(10, angle=np.nan), ValueError, "angle must be a finite number"),
    (lambda: surfaces.Quadratic(10, angle="45"), ValueError, "angle must be a finite number"),
    (lambda: surfaces.NoisyQuadratic(noise=-1), ValueError, "noise must be a non-negative number"),
    (lambda: surfaces.Rosenbrock()([1.0, 2.0, 3.0]), ValueError, r"x must have shape \(2,\) or \(..., 2\)"),
])
def test_bad_input(build, error, message):
    with pytest.raises(error, match=message):
        build()
