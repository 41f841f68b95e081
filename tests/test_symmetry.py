"""Board symmetries: exact inverses, the dihedral group, and planes/policies/points agreeing."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from rlgo.go.symmetry import (
    NUM_SYMMETRIES, SymmetryError, apply_planes, apply_point, apply_policy, compose, invert,
    invert_policy, point_table,
)

ks = st.integers(0, NUM_SYMMETRIES - 1)
sizes = st.integers(2, 9)


def _reference_maps(n):
    """The 8 maps (r, c) -> (r', c') of the square, written out by hand."""
    m = n - 1
    return [
        lambda r, c: (r, c), lambda r, c: (c, r), lambda r, c: (m - r, m - c), lambda r, c: (m - c, m - r),
        lambda r, c: (m - c, r), lambda r, c: (c, m - r), lambda r, c: (m - r, c), lambda r, c: (r, m - c),
    ]


@st.composite
def planes_and_k(draw):
    n = draw(sizes)
    lead = draw(st.lists(st.integers(1, 3), max_size=2))
    arr = draw(hnp.arrays(np.float32, tuple(lead) + (n, n), elements=st.floats(-5, 5, width=32)))
    return arr, draw(ks)


@settings(max_examples=60, deadline=None)
@given(planes_and_k())
def test_invert_undoes_apply(case):
    planes, k = case
    assert np.array_equal(apply_planes(apply_planes(planes, k), invert(k)), planes)
    assert np.array_equal(apply_planes(apply_planes(planes, invert(k)), k), planes)


@settings(max_examples=40, deadline=None)
@given(sizes, ks, st.data())
def test_policy_round_trip_keeps_pass(n, k, data):
    policy = data.draw(hnp.arrays(np.float64, (2, n * n + 1), elements=st.floats(0, 1)))
    moved = apply_policy(policy, k, n)
    assert np.array_equal(moved[:, -1], policy[:, -1])
    assert np.array_equal(invert_policy(moved, k, n), policy)
    assert np.array_equal(np.sort(moved, axis=-1), np.sort(policy, axis=-1))


@pytest.mark.parametrize("n", [2, 5, 9])
def test_eight_distinct_transforms_forming_the_dihedral_group(n):
    generic = np.arange(n * n).reshape(n, n)
    images = [apply_planes(generic, k) for k in range(NUM_SYMMETRIES)]
    assert len({im.tobytes() for im in images}) == NUM_SYMMETRIES
    for k1 in range(NUM_SYMMETRIES):
        for k2 in range(NUM_SYMMETRIES):
            twice = apply_planes(images[k1], k2)
            assert np.array_equal(twice, images[compose(k1, k2)])
    assert compose(0, 5) == 5 and all(compose(k, invert(k)) == 0 for k in range(NUM_SYMMETRIES))


@pytest.mark.parametrize("n", [3, 4, 7])
def test_point_maps_are_exactly_the_symmetries_of_the_square(n):
    ours = {tuple(row) for row in point_table(n)[:, : n * n]}
    theirs = {tuple(f(*divmod(p, n))[0] * n + f(*divmod(p, n))[1] for p in range(n * n))
              for f in _reference_maps(n)}
    assert ours == theirs


@settings(max_examples=60, deadline=None)
@given(sizes, ks, st.data())
def test_policy_point_and_plane_transforms_agree(n, k, data):
    point = data.draw(st.integers(0, n * n))
    onehot = np.zeros(n * n + 1)
    onehot[point] = 1.0
    expected = np.zeros(n * n + 1)
    expected[apply_point(point, k, n)] = 1.0
    assert np.array_equal(apply_policy(onehot, k, n), expected)
    if point < n * n:
        plane = onehot[: n * n].reshape(n, n)
        assert np.array_equal(apply_planes(plane, k).ravel(), expected[: n * n])
    else:
        assert apply_point(point, k, n) == n * n


@pytest.mark.parametrize("bad", [-1, 8, 2.0, True, "1"])
def test_bad_symmetry_index_is_rejected(bad):
    with pytest.raises(SymmetryError, match=repr(bad).replace("(", r"\(")):
        apply_planes(np.zeros((3, 3)), bad)
    with pytest.raises(SymmetryError):
        invert(bad)


def test_bad_shapes_and_points_are_rejected():
    with pytest.raises(SymmetryError, match=r"\(3, 4\)"):
        apply_planes(np.zeros((3, 4)), 1)
    with pytest.raises(SymmetryError, match="26"):
        apply_policy(np.zeros(25), 1, 5)
    with pytest.raises(SymmetryError, match="26"):
        apply_point(26, 1, 5)
