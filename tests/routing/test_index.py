"""The routing index: tiers by priority, enabled channels only, name-list parsing, immutability."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace

import pytest

from newapi.routing.index import ChannelSnapshot, RoutingIndex, split_list


def _channel(
    channel_id: int,
    *,
    groups: str = "default",
    models: str = "gpt-4o",
    priority: int = 0,
    weight: int = 0,
    status: int = 1,
    key: str = "",
) -> ChannelSnapshot:
    return ChannelSnapshot(
        id=channel_id,
        type=1,
        name=f"c{channel_id}",
        status=status,
        groups=split_list(groups),
        models=split_list(models),
        priority=priority,
        weight=weight,
        key=key,
    )


def test_split_list_trims_drops_empties_and_dedupes() -> None:
    assert split_list(" a, b ,,a, c ,") == ("a", "b", "c")
    assert split_list("") == ()
    assert split_list(None) == ()
    assert split_list(" , ,") == ()


def test_tiers_are_highest_priority_first_with_weights() -> None:
    index = RoutingIndex.build(
        [
            _channel(3, priority=0, weight=5),
            _channel(1, priority=10, weight=7),
            _channel(2, priority=10, weight=1),
            _channel(4, priority=-5),
        ]
    )
    assert index.tiers("default", "gpt-4o") == (
        ((1, 7), (2, 1)),
        ((3, 5),),
        ((4, 0),),
    )


def test_only_enabled_channels_are_indexed_but_all_are_reachable() -> None:
    index = RoutingIndex.build(
        [
            _channel(1, status=1),
            _channel(2, status=2),
            _channel(3, status=3),
            _channel(4, status=0),
        ]
    )
    assert index.tiers("default", "gpt-4o") == (((1, 0),),)
    assert {c.id for c in index.channels.values()} == {1, 2, 3, 4}
    disabled = index.channel(2)
    assert disabled is not None and not disabled.enabled
    assert index.channel(99) is None


def test_every_group_and_model_pair_is_served() -> None:
    index = RoutingIndex.build(
        [
            _channel(1, groups="default, vip", models="gpt-4o,gpt-4o-mini"),
            _channel(2, groups="vip", models="claude-3-5-sonnet-20241022, gpt-4o"),
        ]
    )
    assert index.groups() == ("default", "vip")
    assert index.models_for_group("default") == ("gpt-4o", "gpt-4o-mini")
    assert index.models_for_group("vip") == (
        "claude-3-5-sonnet-20241022",
        "gpt-4o",
        "gpt-4o-mini",
    )
    assert index.tiers("vip", "gpt-4o") == (((1, 0), (2, 0)),)
    assert index.tiers("default", "claude-3-5-sonnet-20241022") == ()
    assert index.has("vip", "claude-3-5-sonnet-20241022")
    assert not index.has("default", "claude-3-5-sonnet-20241022")
    assert index.all_models() == ("claude-3-5-sonnet-20241022", "gpt-4o", "gpt-4o-mini")


def test_unknown_group_or_model_is_empty_not_an_error() -> None:
    index = RoutingIndex.build([_channel(1)])
    assert index.tiers("nope", "gpt-4o") == ()
    assert index.tiers("default", "nope") == ()
    assert index.models_for_group("nope") == ()
    empty = RoutingIndex.empty()
    assert empty.groups() == () and empty.all_models() == () and empty.channel(1) is None


def test_a_channel_without_groups_or_models_serves_nothing() -> None:
    index = RoutingIndex.build([_channel(1, groups=" , "), _channel(2, models="")])
    assert index.groups() == ()
    assert len(index.channels) == 2


def test_negative_weight_counts_as_zero() -> None:
    index = RoutingIndex.build([_channel(1, weight=-3)])
    assert index.tiers("default", "gpt-4o") == (((1, 0),),)


def test_index_and_snapshots_are_immutable() -> None:
    index = RoutingIndex.build([_channel(1)])
    with pytest.raises(TypeError):
        index.table["default"]["gpt-4o"] = ()  # type: ignore[index]
    with pytest.raises(TypeError):
        index.channels[2] = _channel(2)  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        index.table = {}  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        index.channels[1].status = 2  # type: ignore[misc]


def test_the_key_stays_out_of_repr() -> None:
    channel = _channel(1, key="sk-secret-upstream-key")
    assert "sk-secret-upstream-key" not in repr(channel)
    assert "sk-secret-upstream-key" not in repr(RoutingIndex.build([channel]))
    assert channel.key == "sk-secret-upstream-key"


def test_channels_of_unserved_types_are_never_candidates() -> None:
    served = _channel(1, models="gpt-4o,only-served")
    adopted = replace(_channel(2, models="gpt-4o,only-adopted", priority=5), served=False)
    index = RoutingIndex.build([served, adopted])
    assert index.tiers("default", "gpt-4o") == (((1, 0),),)
    assert not index.has("default", "only-adopted")
    assert "only-adopted" not in index.all_models()
    assert "only-adopted" not in index.models_for_group("default")
    assert index.channel(2) is adopted  # still reachable by id (admin views, tests)
    assert adopted.enabled and not adopted.routable and served.routable
